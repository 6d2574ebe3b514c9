import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { validateNodeConfig } from '../config/index.js';
import { generateNodeKey, signSessionAuth } from '../identity/index.js';
import { silentLogger } from '../log/index.js';
import { backoffDelay, dialPeer, PeerLink, PeerServer, type PeerSession } from './index.js';

const limits = { ...validateNodeConfig({}, 'test').limits, maxFrameBytes: 4096, framesPerSecond: 20, frameBurst: 20, handshakeTimeoutMs: 2000 };
const serverKey = generateNodeKey();
const logger = silentLogger();

/** A raw socket speaking frames by hand, to send what a well-behaved session never would. */
class RawPeer {
  readonly frames: Array<Record<string, unknown>> = [];
  private waiters: Array<() => void> = [];
  constructor(readonly socket: WebSocket) {
    socket.on('message', (data) => {
      this.frames.push(JSON.parse(data.toString()) as Record<string, unknown>);
      for (const wake of this.waiters.splice(0)) wake();
    });
  }
  static async connect(url: string): Promise<RawPeer> {
    const socket = new WebSocket(url);
    const peer = new RawPeer(socket);
    await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
    return peer;
  }
  send(value: unknown): void {
    this.socket.send(typeof value === 'string' ? value : JSON.stringify(value));
  }
  async next(type: string, timeoutMs = 2000): Promise<Record<string, unknown>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const index = this.frames.findIndex((frame) => frame.type === type);
      if (index >= 0) return this.frames.splice(index, 1)[0]!;
      if (Date.now() > deadline) throw new Error(`no ${type} frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames)}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }
  /** Completes the handshake as `key`. */
  async authenticate(key = generateNodeKey()): Promise<void> {
    const hello = await this.next('hello');
    this.send({ v: 1, type: 'hello', versions: [1], pubkey: key.publicKey, role: 'client', agent: 'raw', challenge: 'c'.repeat(64) });
    this.send({ v: 1, type: 'auth', event: signSessionAuth(key, hello.challenge as string, 1) });
    await this.next('ready');
    this.send({ v: 1, type: 'ready', version: 1 });
  }
  closed(): Promise<number> {
    return new Promise((resolve) => this.socket.once('close', (code) => resolve(code)));
  }
}

describe('transport over real WebSockets', () => {
  let server: PeerServer;
  const sessions: PeerSession[] = [];

  before(async () => {
    server = await PeerServer.listen({
      host: '127.0.0.1',
      port: 0,
      identity: { key: serverKey, role: 'aggregator', agent: 'test-server' },
      limits,
      logger,
      onSession: (session) => {
        sessions.push(session);
        // An echo service: answers job.cancel with an error frame naming the job, to prove frames reach the node.
        session.onFrame((frame) => {
          if (frame.type === 'job.cancel') session.send({ type: 'error', code: 'job_not_found', message: 'echo', jobId: frame.jobId });
          // A node's bug, reached by a frame: the session, not the process, must take it.
          if (frame.type === 'job.accept') throw new Error(`no handler for ${frame.jobId}`);
        });
      },
    });
  });
  after(async () => server.close());

  it('authenticates both sides and tells each who the other is', async () => {
    const clientKey = generateNodeKey();
    const session = await dialPeer(server.url, { identity: { key: clientKey, role: 'client', agent: 'test' }, limits, logger });
    assert.equal(session.peer?.pubkey, serverKey.publicKey);
    assert.equal(session.peer?.role, 'aggregator');
    assert.equal(session.peer?.version, 1);
    session.close();
  });

  const badFrames: Array<[string, string | object, string]> = [
    ['a frame that is not JSON', '{oops', 'malformed_json'],
    ['a frame of an unknown type', { v: 1, type: 'job.steal', jobId: 'job-12345678' }, 'unknown_type'],
    ['a frame of a wrong version', { v: 7, type: 'job.cancel', jobId: 'job-12345678' }, 'unsupported_version'],
    ['a frame that breaks its schema', { v: 1, type: 'job.cancel', jobId: 42 }, 'invalid_frame'],
    ['a frame over the size limit', { v: 1, type: 'job.cancel', jobId: 'job-12345678', reason: 'x'.repeat(5000) }, 'frame_too_large'],
  ];
  for (const [what, frame, code] of badFrames) {
    it(`answers ${what} with ${code} and keeps the session`, async () => {
      const raw = await RawPeer.connect(server.url);
      await raw.authenticate();
      raw.send(frame);
      const error = await raw.next('error');
      assert.equal(error.code, code);
      assert.equal(typeof error.message, 'string');
      raw.send({ v: 1, type: 'job.cancel', jobId: 'job-still-here' });
      assert.equal((await raw.next('error')).jobId, 'job-still-here');
      raw.socket.close();
    });
  }

  it('answers a frame whose handler throws with internal, naming the job, and keeps the session and the process', async () => {
    const raw = await RawPeer.connect(server.url);
    await raw.authenticate();
    raw.send({ v: 1, type: 'job.accept', jobId: 'job-handler-throws' });
    const error = await raw.next('error');
    assert.equal(error.code, 'internal');
    assert.equal(error.jobId, 'job-handler-throws');
    raw.send({ v: 1, type: 'job.cancel', jobId: 'job-still-here' });
    assert.equal((await raw.next('error')).jobId, 'job-still-here');
    raw.socket.close();
  });

  it('refuses job frames before authentication', async () => {
    const raw = await RawPeer.connect(server.url);
    await raw.next('hello');
    raw.send({ v: 1, type: 'job.cancel', jobId: 'job-12345678' });
    assert.equal((await raw.next('error')).code, 'unauthenticated');
    raw.socket.close();
  });

  it('refuses an auth signed by a key other than the one announced, and closes', async () => {
    const raw = await RawPeer.connect(server.url);
    const hello = await raw.next('hello');
    const announced = generateNodeKey();
    raw.send({ v: 1, type: 'hello', versions: [1], pubkey: announced.publicKey, role: 'client', agent: 'raw', challenge: 'c'.repeat(64) });
    const closed = raw.closed();
    raw.send({ v: 1, type: 'auth', event: signSessionAuth(generateNodeKey(), hello.challenge as string, 1) });
    assert.equal((await raw.next('error')).code, 'auth_failed');
    assert.equal(await closed, 1008);
  });

  it('refuses a peer that speaks no common version', async () => {
    const raw = await RawPeer.connect(server.url);
    await raw.next('hello');
    raw.send({ v: 1, type: 'hello', versions: [9], pubkey: generateNodeKey().publicKey, role: 'client', agent: 'raw', challenge: 'c'.repeat(64) });
    assert.equal((await raw.next('error')).code, 'unsupported_version');
  });

  it('rate-limits a flood of frames and goes on serving another peer', async () => {
    const flooder = await RawPeer.connect(server.url);
    await flooder.authenticate();
    const bystander = await dialPeer(server.url, { identity: { key: generateNodeKey(), role: 'client', agent: 'b' }, limits, logger });
    for (let i = 0; i < 60; i++) flooder.send({ v: 1, type: 'job.cancel', jobId: `job-flood-${i}` });
    assert.equal((await flooder.next('error')).jobId, 'job-flood-0');
    const limited = await flooder.next('error').then(async function skip(frame): Promise<Record<string, unknown>> {
      return frame.code === 'rate_limited' ? frame : skip(await flooder.next('error'));
    });
    assert.equal(limited.code, 'rate_limited');
    const echoed = new Promise((resolve) => bystander.onFrame((frame) => frame.type === 'error' && resolve(frame.jobId)));
    bystander.send({ type: 'job.cancel', jobId: 'job-bystander' });
    assert.equal(await echoed, 'job-bystander');
    bystander.close();
    flooder.socket.close();
  });

  it('closes a connection that never completes the handshake', async () => {
    const raw = await RawPeer.connect(server.url);
    const code = await raw.closed();
    assert.equal(code, 1008);
    assert.ok(raw.frames.some((frame) => frame.code === 'unauthenticated'));
  });
});

describe('idle timeout and heartbeats', () => {
  it('closes a silent peer after the idle limit, while heartbeats keep a live one open', async () => {
    const quick = { ...limits, idleTimeoutMs: 1000, heartbeatIntervalMs: 200 };
    const server = await PeerServer.listen({ host: '127.0.0.1', port: 0, identity: { key: serverKey, role: 'aggregator', agent: 's' }, limits: quick, logger, onSession: () => undefined });
    const live = await dialPeer(server.url, { identity: { key: generateNodeKey(), role: 'client', agent: 'live' }, limits: quick, logger });
    const silent = await RawPeer.connect(server.url);
    await silent.authenticate();
    assert.equal(await silent.closed(), 4000);
    assert.ok(silent.frames.some((frame) => frame.code === 'idle_timeout'));
    assert.equal(live.isOpen, true);
    live.close();
    await server.close();
  });
});

describe('reconnection', () => {
  it('grows the backoff exponentially with jitter up to the ceiling', () => {
    assert.equal(backoffDelay(0, { initialMs: 100, maxMs: 1000, factor: 2 }, () => 1), 100);
    assert.equal(backoffDelay(3, { initialMs: 100, maxMs: 1000, factor: 2 }, () => 1), 800);
    assert.equal(backoffDelay(10, { initialMs: 100, maxMs: 1000, factor: 2 }, () => 1), 1000);
    assert.equal(backoffDelay(10, { initialMs: 100, maxMs: 1000, factor: 2 }, () => 0), 500);
  });

  it('redials a peer that restarts on the same port', async () => {
    const identity = { key: serverKey, role: 'provider' as const, agent: 's' };
    let server = await PeerServer.listen({ host: '127.0.0.1', port: 0, identity, limits, logger, onSession: () => undefined });
    const port = server.port;
    const sessions: PeerSession[] = [];
    let wake = (): void => undefined;
    const link = new PeerLink(server.url, {
      identity: { key: generateNodeKey(), role: 'aggregator', agent: 'l' },
      limits,
      logger,
      backoff: { initialMs: 50, maxMs: 200, factor: 2 },
      onSession: (session) => {
        sessions.push(session);
        wake();
      },
    });
    const nextSession = () => new Promise<void>((resolve) => (wake = resolve));
    let connected = nextSession();
    link.start();
    await connected;
    connected = nextSession();
    await server.close();
    await new Promise((resolve) => setTimeout(resolve, 300)); // a few failed attempts while it is down
    server = await PeerServer.listen({ host: '127.0.0.1', port, identity, limits, logger, onSession: () => undefined });
    await connected;
    assert.equal(sessions.length, 2);
    assert.equal(sessions[1]?.isOpen, true);
    link.stop();
    await server.close();
  });
});
