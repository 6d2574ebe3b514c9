import assert from 'node:assert/strict';
import { createServer, connect, type AddressInfo, type Server } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { generateNodeKey } from '../../identity/index.js';
import { silentLogger } from '../../log/index.js';
import { startEngineProcess, stopEngineProcess } from '../engine-process.js';
import type { RpcWorkerLauncher } from '../rpc-worker.js';
import { StageConnection } from '../stage-connection.js';
import { StageService } from '../stage-service.js';

// A worker that is ready the instant it is launched makes the provider send tunnel.accept and its first sealed
// frame (stage.ready) back to back, so they reach the head in one TCP read. The head once lost that frame and
// waited 30 s for a stage that was ready. An in-process echo server stands in for ggml-rpc-server, and a sleeping
// process for its supervised process: nothing of llama.cpp is needed to show the bytes of the handshake's tail.
describe('a stage whose worker is ready at once', () => {
  const workerKey = generateNodeKey();
  const headKey = generateNodeKey();
  let echo: Server;
  let service: StageService;

  before(async () => {
    echo = createServer((socket) => socket.pipe(socket));
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const { port } = echo.address() as AddressInfo;
    const instantLauncher: RpcWorkerLauncher = {
      kind: 'process',
      launch: async () => {
        const process = startEngineProcess('sleep', ['60']);
        return { process, ready: async () => true, connect: async () => connect({ host: '127.0.0.1', port }), stop: () => stopEngineProcess(process) };
      },
    };
    service = await StageService.listen({ key: workerKey, host: '127.0.0.1', port: 0, heads: [headKey.publicKey], launcher: instantLauncher, threads: 1, memoryBytes: 2 ** 30, logger: silentLogger() });
  });

  after(async () => {
    await service?.close();
    await new Promise((resolve) => echo?.close(resolve));
  });

  it('opens for the head at once: stage.ready arriving in the same read as tunnel.accept is read, not lost', async () => {
    for (let round = 0; round < 5; round++) {
      const started = performance.now();
      const stage = await StageConnection.open({ endpoint: { url: service.url, pubkey: workerKey.publicKey }, key: headKey, jobId: `instant-${round}` });
      try {
        assert.equal(stage.memoryBytes, 2 ** 30, 'the stage.ready figures reached the head');
        assert.ok(performance.now() - started < 10_000, 'not after a timeout');
        const [host, port] = stage.rpcAddress.split(':') as [string, string];
        const socket = connect({ host, port: Number(port) });
        const echoed = await new Promise<string>((resolve, reject) => {
          socket.once('data', (data) => resolve(data.toString()));
          socket.once('error', reject);
          socket.write('through the tunnel');
        });
        socket.destroy();
        assert.equal(echoed, 'through the tunnel');
      } finally {
        await stage.close();
      }
    }
  });
});
