// Daemons killed with SIGKILL in the middle of a job, then started again: every job ends explicitly failed or
// cancelled with a recorded reason, none is lost, none is recorded twice; a client whose aggregator comes back
// finishes its job there.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { randomUUID } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import OpenAI from 'openai';
import YAML from 'yaml';
import { nodeHome, validateNodeConfig } from '../../src/config/index.js';
import { FileJobStore, type JobRecord } from '../../src/jobs/index.js';
import { generateNodeKey } from '../../src/identity/index.js';
import { silentLogger } from '../../src/log/index.js';
import { sharedModelPath } from '../../src/models/shared-test-models.js';
import { aggregatorAttemptJobId, JobFailedError, runJob, runJobThroughAggregator, type AggregatorLoss } from '../../src/client/index.js';
import { JobSpec } from '../../src/protocol/index.js';
import { dialPeer } from '../../src/transport/index.js';
import { eventually, freePort, INFERNET_BIN, runCli, startDaemon, type RunningDaemon } from '../support/cli.js';

const model = sharedModelPath('stories260K.gguf');
const clientKey = generateNodeKey();
const longJob = () =>
  JobSpec.parse({ jobId: randomUUID(), model: { name: 'stories260K' }, input: { prompt: 'Once upon a time' }, sampling: { maxTokens: 2000 }, deadline: Date.now() + 60_000 });

interface JobRow {
  jobId: string;
  role: string;
  state: string;
  error?: { code: string; message: string };
  output?: string;
  tokens?: number;
  tokenIds?: number[];
}

async function jobsOf(home: string): Promise<JobRow[]> {
  const result = await runCli(['jobs', '--home', home, '--json']);
  assert.equal(result.code, 0, result.stderr);
  return JSON.parse(result.stdout) as JobRow[];
}

describe('SIGKILL of a daemon mid-job, then restart', () => {
  let dir: string;
  const daemons: Record<string, RunningDaemon> = {};
  const home = (name: string) => join(dir, name);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infernet-crash-'));
    await runCli(['init', '--home', home('provider'), '--role', 'provider', '--port', String(await freePort()), '--model', model, '--sandbox', 'none']);
    daemons.provider = await startDaemon(home('provider'));
    await runCli(['init', '--home', home('aggregator'), '--role', 'aggregator', '--port', String(await freePort()), '--connect', daemons.provider.url]);
    daemons.aggregator = await startDaemon(home('aggregator'));
  });
  after(async () => {
    for (const daemon of Object.values(daemons)) await daemon.stop();
  });

  /** Runs a long job and SIGKILLs `victim` as soon as the first tokens stream back. */
  async function killMidJob(victim: 'provider' | 'aggregator'): Promise<{ jobId: string; failure: unknown }> {
    await eventually(async () => JSON.parse((await runCli(['status', '--home', home('aggregator'), '--json'])).stdout).daemon.peers.length > 0, 20_000, 'the aggregator to reach its provider');
    const session = await dialPeer(daemons.aggregator!.url, { identity: { key: clientKey, role: 'client', agent: 'test' }, limits: validateNodeConfig({}, 't').limits, logger: silentLogger() });
    const job = longJob();
    let killed = false;
    const failure = await runJob(session, clientKey, job, {
      onText: () => {
        if (!killed) daemons[victim]!.process.kill('SIGKILL');
        killed = true;
      },
    }).catch((error: unknown) => error);
    session.close();
    assert.ok(killed, 'the job streamed before the kill');
    return { jobId: job.jobId, failure };
  }

  it('a killed provider: the client is told, and after restart the provider records the job failed as interrupted', async () => {
    const { jobId, failure } = await killMidJob('provider');
    assert.ok(failure instanceof JobFailedError);
    assert.equal(failure.code, 'provider_unreachable');
    daemons.provider = await startDaemon(home('provider'));
    const providerJobs = (await jobsOf(home('provider'))).filter((job) => job.jobId === jobId);
    assert.equal(providerJobs.length, 1);
    assert.equal(providerJobs[0]?.state, 'failed');
    assert.equal(providerJobs[0]?.error?.code, 'interrupted');
    const aggregatorJobs = (await jobsOf(home('aggregator'))).filter((job) => job.jobId === jobId);
    assert.deepEqual(aggregatorJobs.map((job) => [job.state, job.error?.code]), [['failed', 'provider_unreachable']]);
  });

  it('a killed aggregator: the provider cancels the job, and after restart the aggregator records it failed as interrupted', async () => {
    const { jobId, failure } = await killMidJob('aggregator');
    assert.ok(failure instanceof JobFailedError);
    assert.equal(failure.reason, 'closed');
    assert.equal(failure.code, 'provider_unreachable', 'the wire code of a session that closed');
    await eventually(async () => (await jobsOf(home('provider'))).some((job) => job.jobId === jobId && job.state === 'cancelled'), 10_000, 'the provider to cancel the orphaned job');
    daemons.aggregator = await startDaemon(home('aggregator'));
    const aggregatorJobs = (await jobsOf(home('aggregator'))).filter((job) => job.jobId === jobId);
    assert.deepEqual(aggregatorJobs.map((job) => [job.state, job.error?.code]), [['failed', 'interrupted']]);
    const providerJobs = (await jobsOf(home('provider'))).filter((job) => job.jobId === jobId);
    assert.deepEqual(providerJobs.map((job) => job.state), ['cancelled']);
  });

  it('an aggregator restarted mid-job: the client dials it again and the job goes on there, with the text of an uninterrupted run', async (t) => {
    await eventually(async () => JSON.parse((await runCli(['status', '--home', home('aggregator'), '--json'])).stdout).daemon.peers.length > 0, 20_000, 'the aggregator to reach its provider');
    const greedy = (): JobSpec => JobSpec.parse({ jobId: randomUUID(), model: { name: 'stories260K' }, input: { prompt: 'Once upon a time' }, sampling: { maxTokens: 400, temperature: 0 }, deadline: Date.now() + 120_000 });
    const logger = silentLogger();
    const limits = validateNodeConfig({}, 't').limits;
    const dial = (url: string) => dialPeer(url, { identity: { key: clientKey, role: 'client', agent: 'test' }, limits, logger });
    const referenceSession = await dial(daemons.aggregator!.url);
    const reference = await runJob(referenceSession, clientKey, greedy());
    referenceSession.close();
    const url = daemons.aggregator!.url;
    const spec = greedy();
    let streamed = 0;
    let restarted: Promise<void> | undefined;
    const losses: AggregatorLoss[] = [];
    // What `infernet submit` runs on a configured aggregator (src/cli/commands/submit.ts).
    const { outcome, lost } = await runJobThroughAggregator({
      url,
      session: await dial(url),
      dial: () => dial(url),
      key: clientKey,
      spec,
      logger,
      hooks: {
        onAggregatorLost: (loss) => losses.push(loss),
        onText: (_text, tokenIds) => {
          streamed += tokenIds.length;
          if (restarted || streamed < 12) return;
          daemons.aggregator!.process.kill('SIGKILL');
          // Started again on the same home and port while the client dials it.
          restarted = (async () => {
            await daemons.aggregator!.stop();
            daemons.aggregator = await startDaemon(home('aggregator'));
          })();
        },
      },
    });
    await restarted;
    t.diagnostic(`restarted after ${losses[0]?.tokensReceived} of ${outcome.tokens} tokens`);
    assert.deepEqual(lost.map((loss) => [loss.endpoint, loss.reason]), [[url, 'closed']]);
    assert.ok(lost[0]!.tokensReceived >= 12 && lost[0]!.tokensReceived < 400, `${lost[0]!.tokensReceived} tokens before the loss`);
    assert.equal(outcome.jobId, spec.jobId);
    assert.equal(outcome.output, reference.output, 'greedy text equals the uninterrupted run');
    assert.equal(outcome.tokens, reference.tokens);
    // The restarted aggregator failed the interrupted attempt and ran the continuation under its own id.
    const aggregatorJobs = await jobsOf(home('aggregator'));
    assert.deepEqual(aggregatorJobs.filter((job) => job.jobId === spec.jobId).map((job) => [job.state, job.error?.code]), [['failed', 'interrupted']]);
    assert.deepEqual(aggregatorJobs.filter((job) => job.jobId === aggregatorAttemptJobId(spec.jobId, 2)).map((job) => job.state), ['completed']);
  });

  it("an aggregator restarted mid-stream under a client node's OpenAI API: the stream goes on through it, with the text of an uninterrupted run", async (t) => {
    await eventually(async () => JSON.parse((await runCli(['status', '--home', home('aggregator'), '--json'])).stdout).daemon.peers.length > 0, 20_000, 'the aggregator to reach its provider');
    const clientHome = home('client-api');
    await runCli(['init', '--home', clientHome, '--role', 'client', '--connect', daemons.aggregator!.url, '--api-port', '0']);
    const apiKey = (await runCli(['apikey', 'create', '--home', clientHome, '--label', 'tests'])).stdout.trim();
    daemons.clientApi = await startDaemon(clientHome, { until: 'api' });
    const openai = new OpenAI({ apiKey, baseURL: `${daemons.clientApi.api}/v1`, maxRetries: 0 });
    const request = { model: 'stories260K', messages: [{ role: 'user' as const, content: 'Once upon a time' }], max_tokens: 400, temperature: 0 };
    const reference = (await openai.chat.completions.create(request)).choices[0]!.message.content ?? '';
    let chunks = 0;
    let text = '';
    let restarted: Promise<void> | undefined;
    const stream = await openai.chat.completions.create({ ...request, stream: true });
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      if (++chunks !== 12) continue;
      daemons.aggregator!.process.kill('SIGKILL');
      restarted = (async () => {
        await daemons.aggregator!.stop();
        daemons.aggregator = await startDaemon(home('aggregator'));
      })();
    }
    await restarted;
    t.diagnostic(`${chunks} chunks, the aggregator killed at the 12th`);
    assert.ok(restarted, 'the stream outlasted 12 chunks');
    assert.equal(text, reference, 'greedy text equals the uninterrupted run');
  });

  it('a killed `infernet submit`: `infernet jobs` on its home shows the job ended (cancelled, interrupted) with the text and token ids it had streamed', async () => {
    await eventually(async () => JSON.parse((await runCli(['status', '--home', home('aggregator'), '--json'])).stdout).daemon.peers.length > 0, 20_000, 'the aggregator to reach its provider');
    const clientHome = home('client-killed');
    await runCli(['init', '--home', clientHome, '--role', 'client', '--connect', daemons.aggregator!.url]);
    // A file store, read here directly: the job is seen running the moment its record says so, however loaded the
    // machine (a poll through `infernet jobs` can take longer than the job).
    const configFile = nodeHome(clientHome).configFile;
    await writeFile(configFile, YAML.stringify({ ...YAML.parse(await readFile(configFile, 'utf8')), storage: { backend: 'file' } }));
    const clientStore = new FileJobStore(nodeHome(clientHome).jobsFile);
    const submit = spawn(process.execPath, [INFERNET_BIN, 'submit', '--home', clientHome, '--model', 'stories260K', '--prompt', 'Once upon a time', '--max-tokens', '2000', '--temperature', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = once(submit, 'exit');
    let output = '';
    let printed = '';
    submit.stdout!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      printed += chunk.toString();
    });
    submit.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      // Its record is written at the first token, and what streamed with it right after.
      let running: JobRecord | undefined;
      const streaming = async () => (await clientStore.list({ role: 'client', states: ['running'] })).find((job) => job.output);
      await eventually(async () => Boolean((running = await streaming())), 30_000, 'the submitted job to run').catch(async (error: Error) => {
        throw new Error(`${error.message}: jobs ${JSON.stringify(await clientStore.list())}; submit printed ${output.slice(-2000)}`);
      });
      submit.kill('SIGKILL');
      await exited;
      const [ended] = (await jobsOf(clientHome)).filter((job) => job.jobId === running!.jobId);
      assert.deepEqual([ended?.state, ended?.error?.code], ['cancelled', 'interrupted']);
      assert.match(ended!.error!.message, new RegExp(`pid ${submit.pid}`));
      // What the killed process had received: text it printed, one token id per token counted.
      assert.ok(ended!.output && printed.startsWith(ended!.output), `recorded ${JSON.stringify(ended!.output)}, printed ${JSON.stringify(printed.slice(0, 200))}`);
      assert.ok(ended!.tokens! >= 1);
      assert.equal(ended!.tokenIds?.length, ended!.tokens);
      // Its true end: the aggregator cancelled the job when the client's session closed.
      await eventually(async () => (await jobsOf(home('aggregator'))).some((job) => job.jobId === running!.jobId && job.state === 'cancelled'), 10_000, 'the aggregator to record the job cancelled');
    } finally {
      if (submit.exitCode === null && submit.signalCode === null) submit.kill('SIGKILL');
    }
  });

  it('the restarted pair completes the next job', async () => {
    await eventually(async () => JSON.parse((await runCli(['status', '--home', home('aggregator'), '--json'])).stdout).daemon.peers.length > 0, 20_000, 'the restarted aggregator to reach its provider');
    await runCli(['init', '--home', home('client'), '--role', 'client', '--connect', daemons.aggregator!.url]);
    const result = await runCli(['submit', '--home', home('client'), '--model', 'stories260K', '--prompt', 'Once upon a time', '--max-tokens', '16', '--json']);
    assert.equal(result.code, 0, result.stderr);
    assert.equal(JSON.parse(result.stdout).status, 'completed');
  });
});
