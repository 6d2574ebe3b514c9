import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { connect, type AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import WebSocket, { WebSocketServer } from 'ws';
import { generateNodeKey, signEnvelope } from '../../identity/index.js';
import { silentLogger } from '../../log/index.js';
import { roundTrip, sha } from '../testing/echo-round-trip.js';
import { echoLauncher } from '../testing/echo-rpc-launcher.js';
import { StageConnection } from '../stage-connection.js';
import { StageService } from '../stage-service.js';
import { deriveTunnelKeys, newEphemeralKey, TunnelFrameRejectedError, type TunnelOpener } from './tunnel-cipher.js';
import { FRAME_HEADER_BYTES, FrameDecoder, FrameType, sealFrame } from './tunnel-framing.js';
import { EVENT_KIND_TUNNEL_AUTH, MAX_TUNNEL_FRAME_BYTES, TUNNEL_PROTOCOL } from './tunnel-protocol.js';
import { dialTunnel, TunnelRefusedError } from './tunnel-handshake.js';

// The tunnel carries bytes, whatever listens behind it: an echo process sits where ggml-rpc-server does.
const workerKey = generateNodeKey();
const headKey = generateNodeKey();
const strangerKey = generateNodeKey();
const logger = silentLogger();

describe('tunnels to RPC stages (an echo process stands in for ggml-rpc-server)', () => {
  let service: StageService;
  const endpoint = () => ({ url: service.url, pubkey: workerKey.publicKey });

  before(async () => {
    service = await StageService.listen({ key: workerKey, host: '127.0.0.1', port: 0, heads: [headKey.publicKey], launcher: echoLauncher, threads: 1, memoryBytes: 2 ** 30, limits: { maxStages: 2, maxStageBytes: 64 * 2 ** 20 }, logger });
  });
  after(async () => {
    await service.close();
  });

  it('carries 8 MB both ways between a local port on the head and the worker loopback port, byte for byte', async () => {
    const stage = await StageConnection.open({ endpoint: endpoint(), key: headKey, jobId: 'job-bytes' });
    try {
      assert.equal(stage.memoryBytes, 2 ** 30);
      assert.match(stage.rpcAddress, /^127\.0\.0\.1:\d+$/);
      const payload = randomBytes(8 * 2 ** 20);
      const echoed = await roundTrip(stage.rpcAddress, payload);
      assert.equal(sha(echoed), sha(payload));
      assert.deepEqual(service.openStages().map((s) => s.jobId), ['job-bytes']);
    } finally {
      await stage.close();
    }
  });

  it('ends the stage and stops its worker when the head closes it', async () => {
    const stage = await StageConnection.open({ endpoint: endpoint(), key: headKey, jobId: 'job-end' });
    const { workerPid } = service.openStages().find((s) => s.jobId === 'job-end')!;
    await stage.close();
    for (let i = 0; i < 100 && service.openStages().some((s) => s.jobId === 'job-end'); i++) await new Promise((r) => setTimeout(r, 20));
    assert.equal(service.openStages().some((s) => s.jobId === 'job-end'), false);
    assert.throws(() => process.kill(workerPid!, 0), /ESRCH/, 'the worker outlived its stage');
  });

  it('refuses a head that is not allowed to open stages, and starts no worker', async () => {
    await assert.rejects(StageConnection.open({ endpoint: endpoint(), key: strangerKey, jobId: 'job-stranger' }), (error: unknown) => error instanceof TunnelRefusedError && error.refusal === 'not_allowed');
    assert.equal(service.openStages().length, 0);
  });

  it('refuses a tunnel for a job that has no stage here', async () => {
    await assert.rejects(dialTunnel({ url: service.url, key: headKey, worker: workerKey.publicKey, request: { action: 'tunnel.connect', jobId: 'never-opened' } }), (error: unknown) => error instanceof TunnelRefusedError && error.refusal === 'unknown_job');
  });

  it("refuses a tunnel to another head's stage", async () => {
    const otherHead = generateNodeKey();
    const other = await StageService.listen({ key: workerKey, host: '127.0.0.1', port: 0, heads: [headKey.publicKey, otherHead.publicKey], launcher: echoLauncher, threads: 1, logger });
    const stage = await StageConnection.open({ endpoint: { url: other.url, pubkey: workerKey.publicKey }, key: headKey, jobId: 'job-owned' });
    try {
      await assert.rejects(dialTunnel({ url: other.url, key: otherHead, worker: workerKey.publicKey, request: { action: 'tunnel.connect', jobId: 'job-owned' } }), (error: unknown) => error instanceof TunnelRefusedError && error.refusal === 'not_allowed');
    } finally {
      await stage.close();
      await other.close();
    }
  });

  it('refuses a peer that does not prove its key (a forged signature), before any byte is forwarded', async () => {
    const socket = new WebSocket(service.url);
    const frames: Record<string, unknown>[] = [];
    socket.on('message', (data) => frames.push(JSON.parse(data.toString()) as Record<string, unknown>));
    await new Promise((resolve) => socket.once('open', resolve));
    for (let i = 0; i < 100 && !frames.length; i++) await new Promise((r) => setTimeout(r, 10));
    const hello = frames[0]!;
    const ephemeral = newEphemeralKey().publicKey;
    const forged = { id: 'a'.repeat(64), pubkey: headKey.publicKey, created_at: Math.floor(Date.now() / 1000), kind: 22243, tags: [['challenge', String(hello.challenge)], ['p', workerKey.publicKey], ['ephemeral', ephemeral], ['protocol', TUNNEL_PROTOCOL]], content: JSON.stringify({ action: 'stage.open', jobId: 'job-forged' }), sig: 'b'.repeat(128) };
    socket.send(JSON.stringify({ type: 'tunnel.auth', challenge: 'c'.repeat(64), ephemeral, event: forged }));
    const code = await new Promise<number>((resolve) => socket.once('close', resolve));
    assert.equal(code, 1008);
    assert.equal(frames.at(-1)?.type, 'tunnel.refuse');
    assert.equal(frames.at(-1)?.code, 'unauthenticated');
    assert.equal(service.openStages().length, 0);
  });

  it('refuses by name a head that speaks tunnel protocol 1, whose frames it would not read', async () => {
    const socket = new WebSocket(service.url);
    const frames: Record<string, unknown>[] = [];
    socket.on('message', (data) => frames.push(JSON.parse(data.toString()) as Record<string, unknown>));
    await new Promise((resolve) => socket.once('open', resolve));
    for (let i = 0; i < 100 && !frames.length; i++) await new Promise((r) => setTimeout(r, 10));
    const ephemeral = newEphemeralKey().publicKey;
    const tags = [['challenge', String(frames[0]!.challenge)], ['p', workerKey.publicKey], ['ephemeral', ephemeral], ['protocol', 'infernet-tunnel/1']];
    const event = signEnvelope(headKey, { kind: EVENT_KIND_TUNNEL_AUTH, tags, content: JSON.stringify({ action: 'stage.open', jobId: 'job-v1' }) });
    socket.send(JSON.stringify({ type: 'tunnel.auth', challenge: 'c'.repeat(64), ephemeral, event }));
    const code = await new Promise<number>((resolve) => socket.once('close', resolve));
    assert.equal(code, 1008);
    assert.equal(frames.at(-1)?.type, 'tunnel.refuse');
    assert.equal(frames.at(-1)?.code, 'unsupported_version');
    assert.equal(service.openStages().length, 0);
  });

  it('a head refuses by name a worker that speaks tunnel protocol 1', async () => {
    const oldWorker = new WebSocketServer({ port: 0, host: '127.0.0.1' });
    oldWorker.on('connection', (socket) => socket.send(JSON.stringify({ type: 'tunnel.hello', version: 1, pubkey: workerKey.publicKey, challenge: 'a'.repeat(64), ephemeral: newEphemeralKey().publicKey })));
    await new Promise((resolve) => oldWorker.once('listening', resolve));
    try {
      const url = `ws://127.0.0.1:${(oldWorker.address() as AddressInfo).port}`;
      await assert.rejects(dialTunnel({ url, key: headKey, worker: workerKey.publicKey, request: { action: 'stage.open', jobId: 'job-old-worker' } }), (error: unknown) => error instanceof TunnelRefusedError && error.refusal === 'unsupported_version' && /version 1/.test(error.message));
    } finally {
      for (const client of oldWorker.clients) client.terminate();
      await new Promise((resolve) => oldWorker.close(resolve));
    }
  });

  it('refuses a plain TCP client speaking the RPC protocol to the tunnel port', async () => {
    const socket = connect({ host: '127.0.0.1', port: Number(new URL(service.url).port) });
    const answer = await new Promise<string>((resolve) => {
      let text = '';
      socket.on('data', (d: Buffer) => (text += d.toString('latin1')));
      socket.on('close', () => resolve(text));
      socket.write(Buffer.from([0, 1, 0, 0, 0, 0, 0, 0, 0])); // RPC_CMD_HELLO-like bytes, not HTTP
    });
    assert.doesNotMatch(answer, /tunnel\.accept/);
    assert.equal(service.openStages().length, 0);
  });

  it('a head refuses a worker that cannot prove the key it expects', async () => {
    const impostor = generateNodeKey();
    await assert.rejects(StageConnection.open({ endpoint: { url: service.url, pubkey: impostor.publicKey }, key: headKey, jobId: 'job-impostor' }), (error: unknown) => error instanceof TunnelRefusedError && error.refusal === 'unauthenticated');
  });

  it('closes a stage whose tunnels pass its byte budget', async () => {
    const small = await StageService.listen({ key: workerKey, host: '127.0.0.1', port: 0, heads: [headKey.publicKey], launcher: echoLauncher, threads: 1, limits: { maxStageBytes: 2 ** 20 }, logger });
    const stage = await StageConnection.open({ endpoint: { url: small.url, pubkey: workerKey.publicKey }, key: headKey, jobId: 'job-budget' });
    try {
      const [host, port] = stage.rpcAddress.split(':');
      const socket = connect({ host: host!, port: Number(port) });
      let received = 0;
      socket.on('data', (d: Buffer) => (received += d.length));
      socket.on('error', () => undefined);
      socket.write(randomBytes(4 * 2 ** 20));
      await new Promise((resolve) => socket.once('close', resolve));
      assert.ok(received < 2 ** 20, `received ${received} bytes through a 1 MiB budget`);
    } finally {
      await stage.close();
      await small.close();
    }
  });
});

describe('tunnel frames', () => {
  /** The data frames in `bytes`, opened in order; throws at the first that fails. */
  function openFrames(opener: TunnelOpener, bytes: Buffer): string[] {
    const opened: string[] = [];
    new FrameDecoder(opener, { header: () => undefined, frame: (_type, pieces) => void opened.push(Buffer.concat(pieces).toString()) }).push(bytes);
    return opened;
  }
  const wire = (frame: Buffer[]) => Buffer.concat(frame);

  it('open only in order, once, and untampered', () => {
    const a = newEphemeralKey();
    const b = newEphemeralKey();
    const head = deriveTunnelKeys(a, b.publicKey, 'transcript', 'head');
    const worker = deriveTunnelKeys(b, a.publicKey, 'transcript', 'worker');
    const first = wire(sealFrame(head.send, FrameType.data, Buffer.from('first')));
    const second = wire(sealFrame(head.send, FrameType.data, Buffer.from('second')));
    assert.deepEqual(openFrames(worker.receive, first), ['first']);
    assert.throws(() => openFrames(worker.receive, first), TunnelFrameRejectedError); // replayed
    const tampered = Buffer.from(second);
    tampered[FRAME_HEADER_BYTES] = tampered[FRAME_HEADER_BYTES]! ^ 1;
    const fresh = () => deriveTunnelKeys(b, a.publicKey, 'transcript', 'worker').receive;
    assert.throws(() => openFrames(fresh(), Buffer.concat([first, tampered])), TunnelFrameRejectedError);
    const retyped = Buffer.from(first);
    retyped[0] = FrameType.close;
    assert.throws(() => openFrames(fresh(), retyped), TunnelFrameRejectedError); // the header is authenticated too
    assert.throws(() => openFrames(fresh(), second), TunnelFrameRejectedError); // out of order
    const otherTranscript = deriveTunnelKeys(b, a.publicKey, 'another transcript', 'worker');
    assert.throws(() => openFrames(otherTranscript.receive, first), TunnelFrameRejectedError);
    assert.deepEqual(openFrames(head.receive, wire(sealFrame(worker.send, FrameType.data, Buffer.from('back')))), ['back']);
  });

  it('read the same whatever pieces TCP cuts the bytes into', () => {
    const a = newEphemeralKey();
    const b = newEphemeralKey();
    const head = deriveTunnelKeys(a, b.publicKey, 'transcript', 'head');
    const worker = deriveTunnelKeys(b, a.publicKey, 'transcript', 'worker');
    const payloads = [randomBytes(1), randomBytes(0), randomBytes(70_000), randomBytes(MAX_TUNNEL_FRAME_BYTES)];
    const bytes = Buffer.concat(payloads.map((p) => wire(sealFrame(head.send, FrameType.data, p))));
    const opened: Buffer[] = [];
    const decoder = new FrameDecoder(worker.receive, { header: () => undefined, frame: (_type, pieces) => void opened.push(Buffer.concat(pieces)) });
    for (let offset = 0, step = 1; offset < bytes.length; offset += step, step = (step * 7 + 3) % 65_537) decoder.push(bytes.subarray(offset, offset + step));
    assert.deepEqual(opened.map(sha), payloads.map(sha));
    assert.equal(decoder.atFrameBoundary, true);
  });
});
