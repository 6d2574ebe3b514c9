import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ephemeralPortRange, FETCH_BLOCKED_PORTS, freeLoopbackPorts, portsOutside } from './index.js';

const listenOn = (port: number) =>
  new Promise<Server>((resolve, reject) => {
    const server = createServer();
    server.once('error', reject).listen(port, '127.0.0.1', () => resolve(server));
  });
const close = (server: Server) => new Promise<void>((resolve) => server.close(() => resolve()));

describe('freeLoopbackPorts', () => {
  it('hands out distinct ports, each free to bind once returned', async () => {
    const ports = await freeLoopbackPorts(16);
    assert.equal(new Set(ports).size, 16);
    for (const port of ports) await close(await listenOn(port));
  });

  // The crash-recovery e2e failed a CI run with `listen EADDRINUSE 127.0.0.1:42947`: the daemon's port came from the
  // kernel's ephemeral range, and the kernel handed it to another socket before the daemon bound it.
  it('hands out no port from the kernel\'s ephemeral range, which the kernel gives to any bind(0) or outgoing connection', async () => {
    const ephemeral = ephemeralPortRange();
    assert.ok(ephemeral, 'this Linux machine has an ephemeral port range');
    for (const port of await freeLoopbackPorts(32)) {
      assert.ok(port < ephemeral.low || port > ephemeral.high, `${port} is in the ephemeral range ${ephemeral.low}-${ephemeral.high}`);
    }
    // And the kernel's own picks, many of them at once, never land on a port just handed out.
    const handedOut = new Set(await freeLoopbackPorts(8));
    const kernelPicks = await Promise.all(Array.from({ length: 64 }, () => listenOn(0)));
    try {
      for (const server of kernelPicks) assert.ok(!handedOut.has((server.address() as AddressInfo).port));
    } finally {
      await Promise.all(kernelPicks.map(close));
    }
  });

  // A CI run's PocketBase got 6668, one of the Fetch standard's bad ports: fetch refused to reach it.
  it('hands out no port that fetch refuses to connect to', async () => {
    const ports = await freeLoopbackPorts(2048);
    assert.ok(ports.every((port) => !FETCH_BLOCKED_PORTS.has(port)));
    await assert.rejects(fetch('http://127.0.0.1:6668/'), (error: Error) => /bad port/.test(String((error.cause as Error | undefined)?.message ?? error.message)));
  });

  it('reads the ephemeral range and the ports outside it, and falls back to the kernel where it has none', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infernet-ports-'));
    try {
      await writeFile(join(dir, 'range'), '32768\t60999\n');
      assert.deepEqual(ephemeralPortRange(join(dir, 'range')), { low: 32768, high: 60999 });
      await writeFile(join(dir, 'garbage'), 'many\n');
      assert.equal(ephemeralPortRange(join(dir, 'garbage')), undefined);
      assert.equal(ephemeralPortRange(join(dir, 'missing')), undefined);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    assert.deepEqual(portsOutside({ low: 32768, high: 60999 }), [{ low: 1024, high: 32767 }, { low: 61000, high: 65535 }]);
    assert.deepEqual(portsOutside({ low: 1024, high: 65535 }), []);
    assert.deepEqual(portsOutside(undefined), []);
  });
});
