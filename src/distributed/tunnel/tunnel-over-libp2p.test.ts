import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { CreateDiscoveryNodeOptions, DiscoveryNode } from '../../discovery/index.js';
import { LoopbackNodes } from '../../discovery/testing/loopback-nodes.js';
import { capturingLogger, waitFor } from '../../discovery/testing/fixtures.js';
import { generateNodeKey } from '../../identity/index.js';
import { silentLogger } from '../../log/index.js';
import { libp2pEndpointOf, openStreamToPeer } from '../../nat/index.js';
import { roundTrip, sha } from '../testing/echo-round-trip.js';
import { echoLauncher } from '../testing/echo-rpc-launcher.js';
import { StageConnection, type StageEndpoint } from '../stage-connection.js';
import { StageService } from '../stage-service.js';
import { TunnelRefusedError } from './tunnel-handshake.js';
import { tunnelStreamOpener } from './tunnel-over-libp2p.js';
import { TUNNEL_STREAM_PROTOCOL } from './tunnel-protocol.js';

// Two real libp2p nodes on loopback: the stage provider answers tunnel streams, the head dials it by peer id only
// (its ws:// listener is never named). A TCP echo process stands in for ggml-rpc-server behind the tunnel.
const workerKey = generateNodeKey();
const headKey = generateNodeKey();
const strangerKey = generateNodeKey();
const logger = silentLogger();


describe('stage tunnels over a libp2p stream between two libp2p nodes on loopback (a TCP echo server stands in for ggml-rpc-server)', () => {
  const nodes = new LoopbackNodes();
  let stageNode: DiscoveryNode;
  let headNode: DiscoveryNode;
  let service: StageService;
  /** The stage service's log: each tunnel's line names its remote (the path over libp2p and the peer id). */
  const stageLog = capturingLogger('debug');

  const startNode = () => nodes.start({ nat: { autoNat: false, holePunch: false, relayClient: false } });
  /** The stage as the head knows it through discovery: a peer id, its addresses and the Nostr key it must prove. */
  const endpoint = (pubkey = workerKey.publicKey): StageEndpoint => ({ url: libp2pEndpointOf(stageNode.peerId), pubkey, open: tunnelStreamOpener(headNode.libp2p, stageNode.peerId, () => stageNode.multiaddrs(), logger) });

  before(async () => {
    [stageNode, headNode] = await Promise.all([startNode(), startNode()]);
    // The ws:// listener exists but the head is never told it: every tunnel below runs over libp2p.
    service = await StageService.listen({ key: workerKey, host: '127.0.0.1', port: 0, heads: [headKey.publicKey], launcher: echoLauncher, threads: 1, memoryBytes: 2 ** 30, limits: { maxStages: 2, maxStageBytes: 64 * 2 ** 20 }, logger: stageLog.logger });
    await service.serveOverLibp2p(stageNode.libp2p);
  });

  after(async () => {
    await service.close();
    await nodes.stop();
  });

  it('proves both keys over the stream and carries 4 MB both ways between the head\'s local port and the echo worker, byte for byte', async () => {
    const stage = await StageConnection.open({ endpoint: endpoint(), key: headKey, jobId: 'job-libp2p' });
    try {
      assert.equal(stage.memoryBytes, 2 ** 30);
      const payload = randomBytes(4 * 2 ** 20);
      const echoed = await roundTrip(stage.rpcAddress, payload);
      assert.equal(sha(echoed), sha(payload));
      assert.deepEqual(service.openStages().map((s) => ({ jobId: s.jobId, head: s.head })), [{ jobId: 'job-libp2p', head: headKey.publicKey }]);
      assert.ok(stage.bytesMoved >= 2 * payload.length, `bytes moved ${stage.bytesMoved}`);
      // The control channel and the forwarded connection both came in from the head's peer id, over direct TCP.
      const remotes = stageLog.lines.filter((line) => line.msg === 'stage opened' || line.msg === 'tunnel connected to the worker').map((line) => line.remote);
      assert.deepEqual(remotes, [`direct-tcp ${headNode.peerId}`, `direct-tcp ${headNode.peerId}`]);
    } finally {
      await stage.close();
    }
    for (let i = 0; i < 100 && service.openStages().length; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.deepEqual(service.openStages(), []);
  });

  it('reaches a stage whose ws:// listener cannot be reached over libp2p instead, for the control channel and every later tunnel', async () => {
    // A port nobody listens on, as a private address behind NAT is to the head.
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const { port } = closed.address() as AddressInfo;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const before = stageLog.lines.length;
    const stage = await StageConnection.open({ endpoint: { ...endpoint(), url: `ws://127.0.0.1:${port}` }, key: headKey, jobId: 'job-unreachable-ws' });
    try {
      const payload = randomBytes(64 * 1024);
      assert.equal(sha(await roundTrip(stage.rpcAddress, payload)), sha(payload));
      const remotes = stageLog.lines.slice(before).filter((line) => line.msg === 'stage opened' || line.msg === 'tunnel connected to the worker').map((line) => line.remote);
      assert.deepEqual(remotes, [`direct-tcp ${headNode.peerId}`, `direct-tcp ${headNode.peerId}`]);
      assert.equal(stage.route, 'libp2p');
    } finally {
      await stage.close();
    }
    for (let i = 0; i < 100 && service.openStages().length; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  });

  it('keeps the WebSocket path for a stage whose ws:// listener answers, though it is known through libp2p too', async () => {
    const stage = await StageConnection.open({ endpoint: { ...endpoint(), url: service.url }, key: headKey, jobId: 'job-ws' });
    try {
      assert.equal(stage.route, 'websocket');
      const payload = randomBytes(64 * 1024);
      assert.equal(sha(await roundTrip(stage.rpcAddress, payload)), sha(payload));
    } finally {
      await stage.close();
    }
    for (let i = 0; i < 100 && service.openStages().length; i++) await new Promise((resolve) => setTimeout(resolve, 20));
  });

  it('refuses a head whose Nostr key may not open stages here, and starts no worker', async () => {
    await assert.rejects(StageConnection.open({ endpoint: endpoint(), key: strangerKey, jobId: 'job-stranger' }), (error: unknown) => error instanceof TunnelRefusedError && error.refusal === 'not_allowed');
    assert.deepEqual(service.openStages(), []);
  });

  it('refuses a stage peer that cannot prove the Nostr key the head expects', async () => {
    await assert.rejects(StageConnection.open({ endpoint: endpoint(strangerKey.publicKey), key: headKey, jobId: 'job-impostor' }), (error: unknown) => error instanceof TunnelRefusedError && error.refusal === 'unauthenticated');
    assert.deepEqual(service.openStages(), []);
  });

  it('never lets a byte of a stream that skips the handshake reach the worker, even with a stage open', async () => {
    const stage = await StageConnection.open({ endpoint: endpoint(), key: headKey, jobId: 'job-open' });
    try {
      const { stream } = await openStreamToPeer(headNode.libp2p, stageNode.peerId, stageNode.multiaddrs(), TUNNEL_STREAM_PROTOCOL, { timeoutMs: 5_000, logger });
      const attack = Buffer.from('ggml-rpc command bytes sent without any handshake\r\n\r\n');
      const received: Buffer[] = [];
      // Until the listener closes the stream, or the bytes come back echoed (what a worker behind no check does).
      const answered = new Promise<void>((resolve) => {
        stream.addEventListener('close', () => resolve(), { once: true });
        stream.addEventListener('message', (event) => {
          received.push(Buffer.from(event.data.subarray()));
          if (Buffer.concat(received).includes(attack)) resolve();
        });
      });
      stream.send(attack);
      await answered;
      stream.abort(new Error('done'));
      const answer = Buffer.concat(received).toString('latin1');
      // The listener answers as HTTP would (a bad request) and closes: the echo worker never saw the bytes.
      assert.ok(!answer.includes(attack.toString('latin1').trim()), `the worker echoed the bytes: ${answer}`);
      assert.match(answer, /^HTTP\/1\.1 400/);
      // The stage itself is untouched.
      assert.deepEqual(service.openStages().map((s) => s.jobId), ['job-open']);
      const payload = randomBytes(1024);
      assert.equal(sha(await roundTrip(stage.rpcAddress, payload)), sha(payload));
    } finally {
      await stage.close();
    }
  });
});

describe('a stage tunnel through a circuit relay on loopback, to a stage provider the head knows only by its relayed address (an echo process stands in for ggml-rpc-server)', () => {
  const nodes = new LoopbackNodes();
  let service: StageService;
  const stageLog = capturingLogger('debug');
  const start = (options: Partial<CreateDiscoveryNodeOptions>) => nodes.start(options);

  after(async () => {
    await service?.close();
    await nodes.stop();
  });

  it('opens the stage over the relayed connection and carries bytes both ways, and the provider logs the path as relayed', async () => {
    const relay = await start({ nat: { relayServer: { maxReservations: 2, reservationsPerPeerPerMinute: 10, circuitsPerPeerPerMinute: 10, circuitDurationS: 60, circuitBytes: 64 * 2 ** 20 }, autoNat: false, holePunch: false } });
    // No listening address of its own, as behind a NAT: the relay's reservation is its only way in (on loopback
    // listeners would let libp2p open a direct connection beside the relayed one, which the head then prefers).
    const stageNode = await start({ listen: [], bootstrap: relay.multiaddrs(), nat: { autoNat: false, holePunch: false, relayClient: true } });
    await stageNode.connectBootstrap();
    const relayed = await waitFor(() => stageNode.multiaddrs().find((address) => address.includes('/p2p-circuit')), { timeoutMs: 15_000, what: 'a relay reservation' });
    service = await StageService.listen({ key: workerKey, host: '127.0.0.1', port: 0, heads: [headKey.publicKey], launcher: echoLauncher, threads: 1, memoryBytes: 2 ** 30, limits: { maxStages: 1, maxStageBytes: 64 * 2 ** 20 }, logger: stageLog.logger });
    await service.serveOverLibp2p(stageNode.libp2p);
    // The head has no bootstrap and no other address: the relayed one is its only way in. Nor does it listen, so
    // the stage node cannot dial it back directly either.
    const headNode = await start({ listen: [], nat: { autoNat: false, relayClient: false, holePunch: false } });
    const endpoint: StageEndpoint = { url: libp2pEndpointOf(stageNode.peerId), pubkey: workerKey.publicKey, open: tunnelStreamOpener(headNode.libp2p, stageNode.peerId, () => [relayed], logger) };
    const stage = await StageConnection.open({ endpoint, key: headKey, jobId: 'job-relayed' });
    try {
      const payload = randomBytes(256 * 1024);
      assert.equal(sha(await roundTrip(stage.rpcAddress, payload)), sha(payload));
      const remotes = stageLog.lines.filter((line) => line.msg === 'stage opened' || line.msg === 'tunnel connected to the worker').map((line) => line.remote);
      assert.deepEqual(remotes, [`relayed ${headNode.peerId}`, `relayed ${headNode.peerId}`]);
    } finally {
      await stage.close();
    }
  });
});
