// No frame can end a daemon: a provider, an aggregator and an all-in-one node, each a real daemon over real
// sockets, take every frame type of the protocol with hostile but schema-valid content from a dialled session,
// in every role a peer can claim, and each still serves a normal job afterwards.
import assert from 'node:assert/strict';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { WebSocket } from 'ws';
import { nodeHome, validateNodeConfig, type NodeConfigInput } from '../../src/config/index.js';
import { generateNodeKey, signEnvelope, type NodeKey } from '../../src/identity/index.js';
import { silentLogger } from '../../src/log/index.js';
import { sharedModelPath } from '../../src/models/shared-test-models.js';
import { runJob } from '../../src/client/index.js';
import { NodeDaemon } from '../../src/node/index.js';
import { sealJobSpec } from '../../src/jobs/job-envelopes.js';
import { EVENT_KIND_JOB_RESULT, EVENT_KIND_JOB_SPEC, EVENT_KIND_SESSION_AUTH, FRAME_TYPES, JobSpec, type Frame, type FrameOf, type FrameType, type NostrEvent, type OutgoingFrame } from '../../src/protocol/index.js';
import { dialPeer, type PeerSession, type SessionIdentity } from '../../src/transport/index.js';

const model = sharedModelPath('stories260K.gguf');
const logger = silentLogger();
const limits = validateNodeConfig({}, 'test').limits;

/** Everything that would have ended a daemon process had it run alone: recorded, and asserted empty at the end. */
const crashes: string[] = [];
const onRejection = (reason: unknown) => void crashes.push(`unhandledRejection: ${reason instanceof Error ? reason.stack : String(reason)}`);
const onException = (error: Error) => void crashes.push(`uncaughtException: ${error.stack}`);

/** The key each daemon's sessions authenticate with: what a hostile peer learns from its hello. */
const daemonKeys = new Map<NodeDaemon, string>();
const daemonKey = (daemon: NodeDaemon): string => daemonKeys.get(daemon)!;

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  for (const deadline = Date.now() + timeoutMs; !(await check()); ) {
    assert.ok(Date.now() < deadline, `${what} within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function startNode(input: NodeConfigInput): Promise<NodeDaemon> {
  const dir = await mkdtemp(join(tmpdir(), 'infernet-hostile-'));
  const config = validateNodeConfig({ listen: { port: 0 }, ...input }, 'test');
  const key = generateNodeKey();
  const daemon = await NodeDaemon.start({ home: nodeHome(dir), config, key, logger, writeState: false });
  daemonKeys.set(daemon, key.publicKey);
  return daemon;
}

const specOf = (jobId: string = randomUUID(), maxTokens = 4): JobSpec =>
  JobSpec.parse({ jobId, model: { name: 'stories260K' }, input: { prompt: 'Once upon a time' }, sampling: { maxTokens }, deadline: Date.now() + 60_000 });

const hex = (bytes: number) => randomBytes(bytes).toString('hex');
const unknownJobId = () => `hostile-${randomUUID()}`;
/** Schema-valid, but neither its id nor its signature holds. */
const forgedEvent = (kind: number, tags: string[][] = []): NostrEvent => ({ id: hex(32), pubkey: hex(32), created_at: 0, kind, tags, content: 'x'.repeat(2048), sig: hex(64) });

/** What a hostile peer knows: the target's key, a job id already used there, and a key of its own. */
interface HostileContext {
  target: string;
  usedJobId: string;
  stranger: NodeKey;
}

/** Every frame type of the protocol, each with content meant to hurt; typed so that a new frame type must be added here. */
const HOSTILE_FRAMES: Record<FrameType, (context: HostileContext) => OutgoingFrame[]> = {
  hello: ({ stranger }) => [{ type: 'hello', versions: [1, 2, 3], pubkey: stranger.publicKey, role: 'provider', agent: 'x'.repeat(128), challenge: hex(32), capabilities: { models: [{ name: 'stories260K' }], slots: 1_000_000 } }],
  auth: ({ stranger }) => [{ type: 'auth', event: signEnvelope(stranger, { kind: EVENT_KIND_SESSION_AUTH, tags: [['challenge', hex(32)]], content: '' }) }],
  ready: () => [{ type: 'ready', version: 1 }],
  'job.request': ({ usedJobId, stranger }) => [
    { type: 'job.request', jobId: usedJobId, model: { name: 'stories260K' }, maxTokens: 32768, deadline: Date.now() + 60_000 },
    { type: 'job.request', jobId: unknownJobId(), model: { name: 'n'.repeat(256), cid: 'bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am' }, maxTokens: 1, deadline: Date.now() + 60_000, provider: stranger.publicKey },
    { type: 'job.request', jobId: unknownJobId(), model: { name: 'stories260K' }, maxTokens: 1, deadline: 1 },
    { type: 'job.request', jobId: unknownJobId(), model: { name: 'stories260K' }, maxTokens: 1, deadline: Number.MAX_SAFE_INTEGER, payment: { rails: ['evm', 'lightning'] } },
  ],
  'job.match': ({ usedJobId, stranger }) => [
    { type: 'job.match', jobId: usedJobId, provider: stranger.publicKey },
    { type: 'job.match', jobId: unknownJobId(), provider: stranger.publicKey, payment: { rail: 'lightning', paymentRequest: 'lnbc1garbage', paymentHash: hex(32), amountSat: '9'.repeat(30) } },
  ],
  'job.offer': ({ target, usedJobId, stranger }) => {
    const unknown = unknownJobId();
    return [
      // Another client's offer under a job id the target already ran: refused duplicate_job, never a crash.
      { type: 'job.offer', jobId: usedJobId, spec: sealJobSpec(stranger, target, specOf(usedJobId)) },
      { type: 'job.offer', jobId: unknownJobId(), spec: forgedEvent(EVENT_KIND_JOB_SPEC) },
      { type: 'job.offer', jobId: unknown, spec: signEnvelope(stranger, { kind: EVENT_KIND_JOB_SPEC, tags: [['p', target], ['job', unknown]], content: 'not a sealed payload' }) },
    ];
  },
  'job.accept': ({ usedJobId }) => [{ type: 'job.accept', jobId: usedJobId }, { type: 'job.accept', jobId: unknownJobId() }],
  'job.reject': ({ usedJobId }) => [{ type: 'job.reject', jobId: usedJobId, code: 'internal', message: 'm'.repeat(1024) }, { type: 'job.reject', jobId: unknownJobId(), code: 'busy', message: '' }],
  'job.progress': ({ usedJobId }) => [{ type: 'job.progress', jobId: usedJobId, stage: 'generating' }, { type: 'job.progress', jobId: unknownJobId(), stage: 'fetching_model', message: 'p'.repeat(1024) }],
  'job.tokens': ({ usedJobId }) => [
    { type: 'job.tokens', jobId: usedJobId, seq: 0, data: 'A'.repeat(256 * 1024) },
    { type: 'job.tokens', jobId: unknownJobId(), seq: Number.MAX_SAFE_INTEGER, data: '' },
  ],
  'job.result': ({ usedJobId, stranger }) => [
    { type: 'job.result', jobId: usedJobId, result: signEnvelope(stranger, { kind: EVENT_KIND_JOB_RESULT, tags: [['job', usedJobId], ['output_hash', hex(32)]], content: 'garbage' }) },
    { type: 'job.result', jobId: unknownJobId(), result: forgedEvent(EVENT_KIND_JOB_RESULT) },
  ],
  'job.cancel': ({ usedJobId }) => [{ type: 'job.cancel', jobId: usedJobId, reason: 'r'.repeat(1024) }, { type: 'job.cancel', jobId: unknownJobId() }],
  'job.verdict': ({ usedJobId, stranger }) => [
    { type: 'job.verdict', jobId: usedJobId, policy: { kind: 'redundant', k: 2 }, runs: [{ jobId: usedJobId, provider: stranger.publicKey, verdict: 'failed' }, { jobId: unknownJobId(), provider: stranger.publicKey, verdict: 'verified' }] },
    { type: 'job.verdict', jobId: unknownJobId(), policy: { kind: 'none' }, runs: [{ jobId: unknownJobId(), provider: stranger.publicKey, verdict: 'inconclusive' }] },
  ],
  'invoice.request': ({ usedJobId }) => [{ type: 'invoice.request', jobId: usedJobId, maxTokens: 32768, paymentHash: hex(32) }, { type: 'invoice.request', jobId: unknownJobId(), maxTokens: 1, paymentHash: hex(32) }],
  'invoice.offer': ({ usedJobId }) => [{ type: 'invoice.offer', jobId: usedJobId, paymentRequest: 'lnbc1garbage', paymentHash: hex(32), amountSat: '0' }],
  'job.outcome': ({ usedJobId }) => [{ type: 'job.outcome', jobId: usedJobId, verdict: 'failed' }, { type: 'job.outcome', jobId: unknownJobId(), verdict: 'verified', preimage: hex(32) }],
  error: ({ usedJobId }) => [{ type: 'error', code: 'internal', message: 'e'.repeat(2048), jobId: usedJobId }, { type: 'error', code: 'provider_unreachable', message: '' }],
  heartbeat: () => [{ type: 'heartbeat', ts: Number.MAX_SAFE_INTEGER, load: { activeJobs: Number.MAX_SAFE_INTEGER, slots: Number.MAX_SAFE_INTEGER } }],
  'models.request': () => [{ type: 'models.request' }, { type: 'models.request' }],
  'models.list': () => [{ type: 'models.list', models: Array.from({ length: 1024 }, (_, index) => ({ name: `fake-${index}` })) }],
  'net.ping': () => [{ type: 'net.ping', seq: Number.MAX_SAFE_INTEGER, ts: 0 }],
  'net.pong': () => [{ type: 'net.pong', seq: 1, ts: 1 }],
  'net.test.start': () => [
    { type: 'net.test.start', testId: unknownJobId(), direction: 'download', bytes: 1024, seconds: 0.05, chunkBytes: 256 },
    { type: 'net.test.start', testId: unknownJobId(), direction: 'upload', bytes: 1, seconds: 60, chunkBytes: 2 ** 40 },
  ],
  'net.test.ready': () => [{ type: 'net.test.ready', testId: unknownJobId(), chunkBytes: 2 ** 40 }],
  'net.ack': () => [{ type: 'net.ack', testId: unknownJobId(), seq: 0, bytes: Number.MAX_SAFE_INTEGER }],
  'net.test.end': () => [{ type: 'net.test.end', testId: unknownJobId() }],
  'net.data': () => [{ type: 'net.data', testId: unknownJobId(), seq: 0, payload: 'd'.repeat(1024) }],
  'push.register': () => [{ type: 'push.register', token: 't'.repeat(4096), platform: 'expo' }],
  'push.registered': () => [{ type: 'push.registered', platform: 'ios' }],
};

/** Bytes no schema admits, written past the session's own encoder. */
const RAW_GARBAGE = ['{"v":1,"type":"job.offer"', JSON.stringify({ v: 1, type: 'job.tokens', jobId: 'x'.repeat(8), seq: 0, data: 'B'.repeat(1536 * 1024) }), '[]', 'null', JSON.stringify({ v: 99, type: 'job.cancel', jobId: 'abcdefgh' })];

/** A daemon, the role a hostile peer claims towards it, and how an honest client gets a job run there. */
interface Target {
  name: string;
  daemon: () => NodeDaemon;
  role: 'client' | 'aggregator' | 'provider';
  /** The aggregator an honest client's job goes through to reach the daemon. */
  via: () => NodeDaemon;
  usedJobId: () => string;
}

describe('no frame can end a daemon', () => {
  let provider: NodeDaemon;
  let aggregator: NodeDaemon;
  let all: NodeDaemon;
  const honest = generateNodeKey();
  const stranger = generateNodeKey();
  const honestSessions = new Map<NodeDaemon, PeerSession>();
  const usedJobIds = new Map<NodeDaemon, string>();

  const dialAs = (daemon: NodeDaemon, key: NodeKey, role: SessionIdentity['role']) =>
    dialPeer(daemon.url!, { identity: { key, role, agent: 'hostile-test', ...(role === 'provider' ? { capabilities: () => ({ models: [{ name: 'hostile-model' }], slots: 1 }) } : {}) }, limits, logger });

  /** An honest client's job through `via` (an aggregator), run to completion. */
  const serveThrough = async (via: NodeDaemon, jobId?: string): Promise<string> => {
    let session = honestSessions.get(via);
    if (!session?.isOpen) honestSessions.set(via, (session = await dialAs(via, honest, 'client')));
    const spec = specOf(jobId);
    const outcome = await runJob(session, honest, spec);
    assert.equal(outcome.status, 'completed');
    assert.equal(outcome.tokens, 4);
    return spec.jobId;
  };

  before(async () => {
    process.on('unhandledRejection', onRejection);
    process.on('uncaughtException', onException);
    provider = await startNode({ role: 'provider', models: [model], provider: { slots: 2, sandbox: 'none' } });
    aggregator = await startNode({ role: 'aggregator', connect: [provider.url!] });
    all = await startNode({ role: 'all', models: [model], provider: { slots: 2, sandbox: 'none' } });
    for (let waited = 0; (aggregator.aggregator?.providerCount ?? 0) === 0 || (all.aggregator?.providerCount ?? 0) === 0; waited += 20) {
      assert.ok(waited < 10_000, 'the aggregators reach their providers');
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    // A job each daemon has run: its id is what hostile frames reuse.
    const throughAggregator = await serveThrough(aggregator);
    usedJobIds.set(aggregator, throughAggregator);
    usedJobIds.set(provider, throughAggregator);
    usedJobIds.set(all, await serveThrough(all));
  });

  after(async () => {
    for (const session of honestSessions.values()) session.close();
    await all?.stop();
    await aggregator?.stop();
    await provider?.stop();
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  });

  const targets: Target[] = [
    { name: 'a provider, from a peer claiming to be its aggregator', daemon: () => provider, role: 'aggregator', via: () => aggregator, usedJobId: () => usedJobIds.get(provider)! },
    { name: 'a provider, from a peer claiming to be a client', daemon: () => provider, role: 'client', via: () => aggregator, usedJobId: () => usedJobIds.get(provider)! },
    { name: 'an aggregator, from a client', daemon: () => aggregator, role: 'client', via: () => aggregator, usedJobId: () => usedJobIds.get(aggregator)! },
    { name: 'an aggregator, from a peer claiming to be a provider', daemon: () => aggregator, role: 'provider', via: () => aggregator, usedJobId: () => usedJobIds.get(aggregator)! },
    { name: 'an all-in-one node, from a client', daemon: () => all, role: 'client', via: () => all, usedJobId: () => usedJobIds.get(all)! },
    { name: 'an all-in-one node, from a peer claiming to be its aggregator', daemon: () => all, role: 'aggregator', via: () => all, usedJobId: () => usedJobIds.get(all)! },
    { name: 'an all-in-one node, from a peer claiming to be a provider', daemon: () => all, role: 'provider', via: () => all, usedJobId: () => usedJobIds.get(all)! },
  ];

  for (const target of targets) {
    describe(target.name, () => {
      let hostile: PeerSession | undefined;
      let pings = 0;
      const open = async (): Promise<PeerSession> => {
        if (!hostile?.isOpen) hostile = await dialAs(target.daemon(), stranger, target.role);
        return hostile;
      };
      after(() => hostile?.close());

      /**
       * Sends, then waits until the daemon has read everything sent (a pong), or has closed the session; then
       * leaves, so that jobs it matched do not hold provider slots until their deadline for the next case.
       */
      const attack = async (send: (session: PeerSession) => void): Promise<void> => {
        const session = await open();
        send(session);
        try {
          await readAll(session);
        } finally {
          session.close();
        }
        const via = target.via();
        await eventually(async () => via.aggregator!.providerLoads().every((load) => load.activeJobs === 0), 'the hostile peer\'s jobs to end with its session');
      };
      const readAll = async (session: PeerSession): Promise<void> => {
        if (!session.isOpen) return;
        const seq = pings++;
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('the daemon answered no net.ping after the hostile frames')), 10_000);
          const done = () => {
            clearTimeout(timer);
            stopFrames();
            stopClose();
            resolve();
          };
          const stopFrames = session.onFrame((frame) => frame.type === 'net.pong' && frame.seq === seq && done());
          const stopClose = session.onClose(done);
          session.send({ type: 'net.ping', seq, ts: Date.now() });
        });
      };

      for (const type of FRAME_TYPES) {
        it(`still serves a job after hostile ${type} frames`, async () => {
          const crashed = crashes.length;
          const daemon = target.daemon();
          await attack((session) => {
            for (const frame of HOSTILE_FRAMES[type]({ target: daemonKey(daemon), usedJobId: target.usedJobId(), stranger })) session.send(frame);
          });
          await serveThrough(target.via());
          assert.deepEqual(crashes.slice(crashed), []);
        });
      }

      it('still serves a job after bytes no schema admits (truncated, oversized, not an object, unknown version)', async () => {
        const crashed = crashes.length;
        await attack((session) => {
          for (const raw of RAW_GARBAGE) (session as unknown as { socket: WebSocket }).socket.send(raw);
        });
        await serveThrough(target.via());
        assert.deepEqual(crashes.slice(crashed), []);
      });
    });
  }

  describe('job ids already used', () => {
    /** A peer acting as the provider's aggregator, with the frames the provider sends it about one job. */
    const asAggregator = async () => {
      const session = await dialAs(provider, generateNodeKey(), 'aggregator');
      const answers = (jobId: string, expected: number) =>
        new Promise<Frame[]>((resolve, reject) => {
          const frames: Frame[] = [];
          const timer = setTimeout(() => reject(new Error(`only ${frames.length} of ${expected} answers about ${jobId}: ${JSON.stringify(frames.map((frame) => frame.type))}`)), 15_000);
          const stop = session.onFrame((frame) => {
            if (!('jobId' in frame) || frame.jobId !== jobId || !['job.accept', 'job.reject', 'job.result', 'error'].includes(frame.type)) return;
            frames.push(frame);
            if (frames.filter((seen) => seen.type !== 'job.accept').length < expected) return;
            clearTimeout(timer);
            stop();
            resolve(frames);
          });
        });
      return { session, answers };
    };

    it('refuses a replayed offer with duplicate_job and leaves the job it ran as it was', async () => {
      const crashed = crashes.length;
      const { session, answers } = await asAggregator();
      const spec = specOf();
      const offer: OutgoingFrame = { type: 'job.offer', jobId: spec.jobId, spec: sealJobSpec(honest, daemonKey(provider), spec) };
      const first = answers(spec.jobId, 1);
      session.send(offer);
      assert.deepEqual((await first).map((frame) => frame.type), ['job.accept', 'job.result']);
      const replayed = answers(spec.jobId, 1);
      session.send(offer);
      const [refusal] = (await replayed) as FrameOf<'job.reject'>[];
      assert.equal(refusal?.type, 'job.reject');
      assert.equal(refusal.code, 'duplicate_job');
      await eventually(async () => (await provider.store.get(spec.jobId, 'provider'))?.state === 'completed', 'the job that ran is recorded completed');
      session.close();
      await serveThrough(aggregator);
      assert.deepEqual(crashes.slice(crashed), []);
    });

    it('runs one of two offers sent at once under the same job id, from two clients, and refuses the other', async () => {
      const crashed = crashes.length;
      const { session, answers } = await asAggregator();
      const spec = specOf(undefined, 64);
      const both = answers(spec.jobId, 2);
      session.send({ type: 'job.offer', jobId: spec.jobId, spec: sealJobSpec(honest, daemonKey(provider), spec) });
      session.send({ type: 'job.offer', jobId: spec.jobId, spec: sealJobSpec(stranger, daemonKey(provider), spec) });
      const frames = await both;
      assert.deepEqual(frames.map((frame) => frame.type).sort(), ['job.accept', 'job.reject', 'job.result']);
      assert.equal((frames.find((frame) => frame.type === 'job.reject') as FrameOf<'job.reject'>).code, 'duplicate_job');
      await eventually(async () => (await provider.store.get(spec.jobId, 'provider'))?.state === 'completed', 'the job that ran is recorded completed');
      const record = await provider.store.get(spec.jobId, 'provider');
      assert.equal(record?.client, honest.publicKey, 'the first offer is the one that ran');
      session.close();
      await serveThrough(aggregator);
      assert.deepEqual(crashes.slice(crashed), []);
    });

    it('refuses a second client sending a job id that another client already ran, through the aggregator', async () => {
      const crashed = crashes.length;
      const usedJobId = await serveThrough(aggregator);
      const other = await dialAs(aggregator, stranger, 'client');
      const failure = await runJob(other, stranger, specOf(usedJobId)).catch((error: unknown) => error);
      other.close();
      assert.equal((failure as { code?: string }).code, 'duplicate_job', String(failure));
      assert.equal((await provider.store.get(usedJobId, 'provider'))?.state, 'completed');
      assert.equal((await provider.store.get(usedJobId, 'provider'))?.client, honest.publicKey);
      assert.equal((await aggregator.store.get(usedJobId, 'aggregator'))?.state, 'completed');
      await serveThrough(aggregator);
      assert.deepEqual(crashes.slice(crashed), []);
    });
  });

  it('ends no daemon: no unhandled rejection or uncaught exception during the whole hostile run', () => {
    assert.deepEqual(crashes, []);
  });
});

