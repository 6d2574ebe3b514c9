import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { describe, it } from 'node:test';
import { freeLoopbackPorts } from './index.js';

describe('freeLoopbackPorts', () => {
  it('hands out distinct ports, each free to bind once returned', async () => {
    const ports = await freeLoopbackPorts(16);
    assert.equal(new Set(ports).size, 16);
    for (const port of ports) {
      const server = createServer();
      await new Promise<void>((resolve, reject) => server.listen(port, '127.0.0.1', resolve).once('error', reject));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
