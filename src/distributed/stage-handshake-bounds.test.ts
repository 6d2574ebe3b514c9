// Threat model attack 13: connections to the stage port that never finish the tunnel handshake must not pile up.
// The stage service holds a bounded number of unauthenticated connections, in all and per remote address, each
// for a bounded time; an honest head still opens a stage beside an attacker holding its share.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, describe, it } from 'node:test';
import { generateNodeKey } from '../identity/index.js';
import { silentLogger } from '../log/index.js';
import { StageConnection } from './stage-connection.js';
import { StageService, type StageServiceOptions } from './stage-service.js';
import { echoLauncher } from './testing/echo-rpc-launcher.js';

const workerKey = generateNodeKey();
const headKey = generateNodeKey();
const WAIT_STEP_MS = 20;
const WAIT_STEPS = 250;

/** Stalled connections from one loopback address (Linux routes all of 127/8 to lo), each left to the server. */
interface Stalled {
  sockets: Socket[];
  closed(): number;
}

async function stalledConnections(port: number, localAddress: string, count: number, upgrade: boolean): Promise<Stalled> {
  const sockets: Socket[] = [];
  let closed = 0;
  for (let i = 0; i < count; i++) {
    const socket = connect({ host: '127.0.0.1', port, localAddress });
    socket.on('error', () => undefined);
    socket.once('close', () => closed++);
    // Read what the server sends (tunnel.hello), so that its close is seen as soon as it comes.
    socket.resume();
    await new Promise<void>((resolve) => {
      socket.once('connect', resolve);
      socket.once('close', () => resolve());
    });
    // A WebSocket upgrade whose tunnel.hello is never answered, or nothing at all after the TCP handshake.
    if (upgrade && !socket.destroyed) {
      socket.write(`GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`);
    }
    sockets.push(socket);
  }
  return { sockets, closed: () => closed };
}

async function waitUntil(condition: () => boolean, what: string): Promise<void> {
  for (let step = 0; step < WAIT_STEPS && !condition(); step++) await new Promise((resolve) => setTimeout(resolve, WAIT_STEP_MS));
  assert.ok(condition(), what);
}

describe('unauthenticated connections to the stage service', () => {
  const services: StageService[] = [];
  const attackers: Stalled[] = [];
  after(async () => {
    for (const { sockets } of attackers) for (const socket of sockets) socket.destroy();
    for (const service of services) await service.close();
  });

  // A variable, not a literal: the same test compiles against a service that has no handshake limits.
  const listen = async (handshakes: { maxPending: number; maxPendingPerRemote: number; timeoutMs: number }): Promise<StageService> => {
    const options: StageServiceOptions & { handshakes: typeof handshakes } = { key: workerKey, host: '127.0.0.1', port: 0, heads: [headKey.publicKey], launcher: echoLauncher, threads: 1, handshakes, logger: silentLogger() };
    const service = await StageService.listen(options);
    services.push(service);
    return service;
  };
  const portOf = (service: StageService) => Number(new URL(service.url).port);

  it("closes one remote's connections beyond its share of pending handshakes, and an honest head still opens a stage", async () => {
    const service = await listen({ maxPending: 64, maxPendingPerRemote: 4, timeoutMs: 60_000 });
    const attacker = await stalledConnections(portOf(service), '127.0.0.2', 20, true);
    attackers.push(attacker);
    await waitUntil(() => attacker.closed() >= 16, `${attacker.closed()} of 20 stalled connections from one address closed, expected 16`);
    assert.equal(attacker.closed(), 16, 'the connections within the share stay until their deadline');
    const stage = await StageConnection.open({ endpoint: { url: service.url, pubkey: workerKey.publicKey }, key: headKey, jobId: 'job-honest' });
    await stage.close();
  });

  it('closes connections beyond the total of pending handshakes, whatever their addresses', async () => {
    const service = await listen({ maxPending: 6, maxPendingPerRemote: 4, timeoutMs: 60_000 });
    const stalled: Stalled[] = [];
    for (const address of ['127.0.0.3', '127.0.0.4', '127.0.0.5']) stalled.push(await stalledConnections(portOf(service), address, 4, false));
    attackers.push(...stalled);
    const closed = () => stalled.reduce((sum, one) => sum + one.closed(), 0);
    await waitUntil(() => closed() >= 6, `${closed()} of 12 stalled connections closed, expected 6`);
    assert.equal(closed(), 6);
  });

  it('closes a connection that does not finish its handshake by the deadline, upgraded or not', async () => {
    const service = await listen({ maxPending: 64, maxPendingPerRemote: 8, timeoutMs: 300 });
    const silent = await stalledConnections(portOf(service), '127.0.0.6', 2, false);
    const upgraded = await stalledConnections(portOf(service), '127.0.0.7', 2, true);
    attackers.push(silent, upgraded);
    await waitUntil(() => silent.closed() === 2 && upgraded.closed() === 2, `closed by the deadline: ${silent.closed()} of 2 silent, ${upgraded.closed()} of 2 upgraded`);
  });
});
