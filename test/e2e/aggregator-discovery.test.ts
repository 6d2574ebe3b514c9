// A client told nothing but a bootstrap address finds its aggregator through discovery, and a job whose aggregator
// is SIGKILLed mid-stream finishes through another one. Two all-in-one daemons (aggregator and provider of
// stories260K each; the first is the bootstrap peer) as real `infernet start` processes with their PocketBase, and a
// client home initialised with only --bootstrap: `infernet aggregators` and `infernet submit` as separate
// processes, the failover through the same runner `submit` uses, in-process, so the kill lands on the first token.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { findAggregators, readAggregatorReputation, runJobAcrossAggregators, type AggregatorLoss } from '../../src/client/index.js';
import { loadNodeConfig, nodeHome, validateNodeConfig } from '../../src/config/index.js';
import { loadNodeKey } from '../../src/identity/index.js';
import { silentLogger } from '../../src/log/index.js';
import { sharedModelPath } from '../../src/models/shared-test-models.js';
import { openNodeStore } from '../../src/node/node-store.js';
import { JobSpec } from '../../src/protocol/index.js';
import { findRunningBackend } from '../../src/storage/index.js';
import { dialPeer } from '../../src/transport/index.js';
import { eventually, runCli, startDaemon, type RunningDaemon } from '../support/cli.js';

const model = sharedModelPath('stories260K.gguf');
const MAX_TOKENS = 400;
const KILL_AFTER_TOKENS = 12;
const PROMPT = 'Once upon a time';
const limits = validateNodeConfig({}, 'test').limits;

interface ListedAggregator {
  endpoint: string;
  peerId: string;
  pubkey: string;
  feeBps: number;
  models: string[];
  latencyMs: number | null;
  reputation: number;
  score: number;
  source: string;
}

describe('aggregators found through discovery, and a job that outlives its aggregator (real daemons)', () => {
  let dir: string;
  const daemons: Record<'a' | 'b', RunningDaemon | undefined> = { a: undefined, b: undefined };
  const home = (name: string) => join(dir, name);
  let reference: { output: string; tokens: number };
  let deadUrl = '';
  /** The keys of the aggregator killed mid-job and of the one that finished the job. */
  let lostKey: string | undefined;
  let finishedKey: string | undefined;
  let bootstrap = '';
  const json = async (args: string[]) => {
    const result = await runCli(args);
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout);
  };
  const listAggregators = async (): Promise<ListedAggregator[]> => json(['aggregators', '--home', home('client'), '--model', 'stories260K', '--json']);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infernet-aggregator-discovery-'));
    await runCli(['init', '--home', home('a'), '--role', 'all', '--port', '0', '--model', model, '--sandbox', 'none', '--threads', '1', '--slots', '2', '--discovery']);
    daemons.a = await startDaemon(home('a'));
    [bootstrap = ''] = (await json(['status', '--home', home('a'), '--json'])).multiaddrs as string[];
    assert.ok(bootstrap);
    await runCli(['init', '--home', home('b'), '--role', 'all', '--port', '0', '--model', model, '--sandbox', 'none', '--threads', '1', '--slots', '2', '--bootstrap', bootstrap]);
    daemons.b = await startDaemon(home('b'));
    await runCli(['init', '--home', home('client'), '--role', 'client', '--bootstrap', bootstrap]);
  });

  /** PocketBase processes of SIGKILLed daemons, left running by them: this test stops them by pid. */
  const orphans: number[] = [];

  after(async () => {
    for (const daemon of Object.values(daemons)) await daemon?.stop();
    for (const pid of orphans) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    await rm(dir, { recursive: true, force: true });
  });

  it('lists both aggregators, found through discovery, each routing the model, with peer id, fee, latency and score', async (t) => {
    await eventually(async () => {
      const listed = await listAggregators();
      return listed.length === 2 && listed.every((aggregator) => aggregator.models.includes('stories260K'));
    }, 60_000, 'both aggregators to announce a record naming stories260K');
    const started = performance.now();
    const listed = await listAggregators();
    t.diagnostic(`infernet aggregators --json (a process, its libp2p node, the lookup) took ${Math.round(performance.now() - started)} ms`);
    assert.deepEqual(listed.map((aggregator) => aggregator.endpoint).sort(), [daemons.a!.url, daemons.b!.url].sort());
    for (const aggregator of listed) {
      assert.equal(aggregator.source, 'discovery');
      assert.match(aggregator.peerId, /^12D3Koo/);
      assert.equal(aggregator.feeBps, 0);
      assert.equal(typeof aggregator.latencyMs, 'number');
      assert.equal(aggregator.reputation, 0.5, 'no job of its own there yet, no network score: neutral');
      assert.ok(aggregator.score > 0 && aggregator.score <= 1);
    }
    assert.ok(listed[0]!.score >= listed[1]!.score, 'best first');
  });

  it('submits a job from a client home that names no aggregator, through the one it found', async () => {
    const submitted = await runCli(['submit', '--home', home('client'), '--model', 'stories260K', '--prompt', PROMPT, '--max-tokens', String(MAX_TOKENS), '--temperature', '0', '--json']);
    assert.equal(submitted.code, 0, `${submitted.stderr}\nA:\n${daemons.a!.log().slice(-2000)}\nB:\n${daemons.b!.log().slice(-2000)}`);
    const job = JSON.parse(submitted.stdout);
    assert.equal(job.status, 'completed');
    assert.ok([daemons.a!.url, daemons.b!.url].includes(job.aggregator), job.aggregator);
    assert.ok(job.tokens >= 100, `${job.tokens} tokens: long enough to be cut part-way`);
    reference = { output: job.output, tokens: job.tokens };
  });

  it('a client daemon that names no aggregator answers its OpenAI API through an aggregator found by discovery', async () => {
    await runCli(['init', '--home', home('api-client'), '--role', 'client', '--bootstrap', bootstrap, '--api-port', '0']);
    const created = await runCli(['apikey', 'create', '--home', home('api-client'), '--label', 'tests']);
    assert.equal(created.code, 0, created.stderr);
    const client = await startDaemon(home('api-client'), { until: 'api' });
    try {
      // A chat request as any OpenAI client sends it; before discovery brought a record, the API looks the aggregators up.
      const response = await fetch(`${client.api}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${created.stdout.trim()}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'stories260K', messages: [{ role: 'user', content: PROMPT }], max_tokens: 16, temperature: 0 }),
      });
      const body = (await response.json()) as { choices?: Array<{ message: { content: string } }> };
      assert.equal(response.status, 200, `${JSON.stringify(body)}\n${client.log().slice(-3000)}`);
      assert.ok(body.choices?.[0]?.message.content.length, 'a reply');
      assert.ok(client.log().includes('API connected to an aggregator'), 'the API dialled an aggregator it found');
    } finally {
      await client.stop();
    }
  });

  it('SIGKILL of the aggregator mid-stream: the job finishes through the other aggregator, with the text of an uninterrupted run', async (t) => {
    assert.ok(reference, 'the reference run completed');
    const clientHome = nodeHome(home('client'));
    const config = await loadNodeConfig(clientHome);
    const key = await loadNodeKey(clientHome.keyFile);
    const logger = silentLogger();
    const lookupStarted = performance.now();
    const aggregators = await findAggregators({ config, key, logger, model: 'stories260K' });
    t.diagnostic(`findAggregators in-process: ${Math.round(performance.now() - lookupStarted)} ms`);
    assert.equal(aggregators.length, 2);
    const spec = JobSpec.parse({ jobId: randomUUID(), model: { name: 'stories260K' }, input: { prompt: PROMPT }, sampling: { maxTokens: MAX_TOKENS, temperature: 0 }, deadline: Date.now() + 120_000 });
    const byUrl = (url: string) => (url === daemons.a!.url ? 'a' : 'b') as 'a' | 'b';
    let current = '';
    let killed: 'a' | 'b' | undefined;
    let tokensAtKill = 0;
    const losses: AggregatorLoss[] = [];
    let streamed = '';
    const { store, close } = await openNodeStore(clientHome, config, logger);
    try {
      const { outcome, aggregator, lost } = await runJobAcrossAggregators({
        aggregators,
        connect: (url) => dialPeer(url, { identity: { key, role: 'client', agent: 'test' }, limits, logger }),
        key,
        spec,
        store,
        logger,
        hooks: {
          onAggregator: (url) => (current = url),
          onAggregatorLost: (loss) => losses.push(loss),
          onText: (text, tokenIds) => {
            streamed += text;
            if (killed) return;
            tokensAtKill += tokenIds.length;
            // Some tokens in, so that the continuation replays more than one.
            if (tokensAtKill < KILL_AFTER_TOKENS) return;
            killed = byUrl(current);
            daemons[killed]!.process.kill('SIGKILL');
          },
        },
      });
      assert.ok(killed, 'the job streamed before the kill');
      assert.deepEqual(lost.map((loss) => [loss.endpoint, loss.reason]), [[daemons[killed]!.url, 'closed']]);
      assert.ok(lost[0]!.tokensReceived >= tokensAtKill && lost[0]!.tokensReceived < MAX_TOKENS, `${lost[0]!.tokensReceived} tokens before the loss`);
      assert.equal(losses.length, 1);
      t.diagnostic(`killed aggregator ${killed} after ${tokensAtKill} streamed tokens; ${lost[0]!.tokensReceived} received before the loss; finished through ${aggregator} (${outcome.tokens} tokens in all)`);
      assert.notEqual(aggregator, daemons[killed]!.url);
      assert.equal(outcome.jobId, spec.jobId);
      assert.equal(outcome.output, reference.output, 'greedy text equals the uninterrupted run');
      assert.equal(outcome.tokens, reference.tokens);
      assert.equal(streamed, reference.output, 'the caller saw one stream, nothing twice');
      const recorded = await store.get(spec.jobId, 'client');
      assert.equal(recorded?.state, 'completed');
      assert.equal(recorded?.output, reference.output);
      assert.equal(recorded?.tokenIds?.length, reference.tokens, 'the token ids of both parts');
      // Each aggregator the job went to, by its authenticated key, and how that went: what ranks them next time.
      const keyOf = (url: string) => aggregators.find((found) => found.endpoint === url)?.pubkey;
      assert.deepEqual(recorded?.aggregatorAttempts, [
        { endpoint: daemons[killed]!.url, pubkey: keyOf(daemons[killed]!.url), outcome: 'lost' },
        { endpoint: aggregator, pubkey: keyOf(aggregator), outcome: 'completed' },
      ]);
      lostKey = keyOf(daemons[killed]!.url);
      finishedKey = keyOf(aggregator);
    } finally {
      await close();
      if (killed) {
        deadUrl = daemons[killed]!.url;
        daemons[killed] = undefined;
        const backend = await findRunningBackend(home(killed));
        if (backend) orphans.push(backend.pid);
      }
    }
  });

  it("ranks the aggregator that lost the client's job lower, from the client's own job records", async () => {
    assert.ok(lostKey, 'an aggregator lost a job');
    const clientHome = nodeHome(home('client'));
    const config = await loadNodeConfig(clientHome);
    const { store, close } = await openNodeStore(clientHome, config, silentLogger());
    try {
      const reputationOf = await readAggregatorReputation(store);
      assert.ok(finishedKey, 'an aggregator finished the job');
      // Whichever of them the first submit went to, the one that lost a job since stands below the one that finished it.
      assert.ok(reputationOf(lostKey) < reputationOf(finishedKey), `lost the job: ${reputationOf(lostKey)}; finished it: ${reputationOf(finishedKey)}`);
    } finally {
      await close();
    }
  });

  it('skips an aggregator that cannot be dialled, before anything was sent', async () => {
    assert.ok(deadUrl, 'an aggregator was killed');
    const clientHome = nodeHome(home('client'));
    const key = await loadNodeKey(clientHome.keyFile);
    const logger = silentLogger();
    const live = Object.values(daemons).find((daemon) => daemon !== undefined)!;
    const spec = JobSpec.parse({ jobId: randomUUID(), model: { name: 'stories260K' }, input: { prompt: PROMPT }, sampling: { maxTokens: 16, temperature: 0 }, deadline: Date.now() + 60_000 });
    const { outcome, aggregator, lost } = await runJobAcrossAggregators({
      aggregators: [{ endpoint: deadUrl }, { endpoint: live.url }],
      connect: (url) => dialPeer(url, { identity: { key, role: 'client', agent: 'test' }, limits, logger }),
      key,
      spec,
      logger,
    });
    assert.equal(aggregator, live.url);
    assert.deepEqual(lost.map((loss) => [loss.endpoint, loss.reason, loss.tokensReceived]), [[deadUrl, 'unreachable', 0]]);
    // Nothing reached the dead one: the job keeps its own id.
    assert.equal(outcome.jobId, spec.jobId);
    assert.equal(outcome.tokens, 16);
    assert.ok(reference.output.startsWith(outcome.output));
  });
});
