// Every way a node runs a job as a client applies the job's verification policy: a desktop (app gateway) job, an
// OpenAI API request and a batch's requests, each under redundant:2, run on two providers and the client's verdict
// reaches the aggregator. In-process daemons over real sockets: two providers, an aggregator with its PocketBase
// (batches), and a client node serving the API and the interface's WebSocket.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { apiKeysFileOf, createApiKey } from '../../src/api/index.js';
import { openBatchStore, submitBatch, type OpenedBatchStore } from '../../src/batch/index.js';
import { nodeHome, validateNodeConfig, type NodeConfigInput } from '../../src/config/index.js';
import { generateNodeKey } from '../../src/identity/index.js';
import { LlamaCppEngine } from '../../src/inference/index.js';
import { silentLogger } from '../../src/log/index.js';
import { sharedModelPath } from '../../src/models/shared-test-models.js';
import { NodeDaemon } from '../../src/node/node-daemon.js';
import type { VerificationOutcome } from '../../src/verification/index.js';
import { eventually } from '../support/cli.js';

const model = sharedModelPath('stories260K.gguf');
const logger = silentLogger();
const REDUNDANT_2 = { kind: 'redundant', k: 2 } as const;

async function startNode(input: NodeConfigInput, withEngine = false): Promise<{ daemon: NodeDaemon; home: string }> {
  const home = await mkdtemp(join(tmpdir(), 'infernet-client-runner-'));
  const config = validateNodeConfig({ listen: { port: 0 }, ...input }, 'test');
  const engine = withEngine ? { engine: new LlamaCppEngine({ threads: 1, contextSize: 256, slots: 1 }) } : {};
  const daemon = await NodeDaemon.start({ home: nodeHome(home), config, key: generateNodeKey(), logger, writeState: false, ...engine });
  return { daemon, home };
}

/** The outcomes the aggregator recorded for one job: one per execution, each from its provider. */
function checkedRuns(outcomes: readonly VerificationOutcome[], jobId: string): VerificationOutcome[] {
  return outcomes.filter((outcome) => outcome.jobId === jobId);
}

function assertCheckedOnTwoProviders(outcomes: readonly VerificationOutcome[], jobId: string): void {
  const runs = checkedRuns(outcomes, jobId);
  assert.equal(runs.length, 2, `two executions of ${jobId} judged`);
  assert.equal(new Set(runs.map((run) => run.provider)).size, 2, 'on two providers');
  assert.deepEqual(runs.map((run) => run.verdict), ['verified', 'verified']);
}

describe('one client job runner: desktop, API and batch jobs under redundant:2 run their check', () => {
  const started: NodeDaemon[] = [];
  let aggregator: { daemon: NodeDaemon; home: string };
  let client: { daemon: NodeDaemon; home: string };
  let apiKey: string;
  let batches: OpenedBatchStore | undefined;
  const outcomes: VerificationOutcome[] = [];

  before(async () => {
    const provider = () => startNode({ role: 'provider', models: [model], storage: { backend: 'file' }, provider: { slots: 1, sandbox: 'none' } }, true);
    for (let i = 0; i < 2; i++) started.push((await provider()).daemon);
    aggregator = await startNode({ role: 'aggregator', connect: started.map((daemon) => daemon.url!) });
    started.push(aggregator.daemon);
    await eventually(() => aggregator.daemon.aggregator!.providerCount === 2, 15_000, 'links to both providers');
    aggregator.daemon.onVerification((outcome) => outcomes.push(outcome));
    const clientInput: NodeConfigInput = { role: 'client', connect: [aggregator.daemon.url!], storage: { backend: 'file' }, api: { port: 0 }, verification: { defaultPolicy: REDUNDANT_2 } };
    const clientHome = await mkdtemp(join(tmpdir(), 'infernet-client-runner-'));
    apiKey = (await createApiKey(apiKeysFileOf(nodeHome(clientHome), validateNodeConfig(clientInput, 'test')), 'test')).key;
    const daemon = await NodeDaemon.start({ home: nodeHome(clientHome), config: validateNodeConfig({ listen: { port: 0 }, ...clientInput }, 'test'), key: generateNodeKey(), logger, writeState: false });
    client = { daemon, home: clientHome };
    started.push(daemon);
  });

  after(async () => {
    await batches?.close();
    for (const daemon of started.reverse()) await daemon.stop();
  });

  it('a desktop job: the interface asks redundant:2, a second provider runs the check and the verdict is sent', async () => {
    const ws = new WebSocket(`${client.daemon.apiUrl!.replace(/^http/, 'ws')}/app/ws`, { headers: { origin: client.daemon.apiUrl! } });
    const events: Array<{ type: string; jobId?: string; code?: string; message?: string }> = [];
    ws.on('message', (data) => events.push(JSON.parse(data.toString())));
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    try {
      ws.send(JSON.stringify({ type: 'hello', key: apiKey }));
      await eventually(() => events.some((event) => event.type === 'welcome'), 10_000, 'welcome');
      ws.send(JSON.stringify({ type: 'job.submit', requestId: 'r1', model: 'stories260K', prompt: 'Once upon a time', maxTokens: 12, temperature: 0, timeoutS: 60, verification: REDUNDANT_2 }));
      await eventually(() => events.some((event) => event.type === 'job.done' || event.type === 'job.failed'), 60_000, 'the job to end');
      const done = events.find((event) => event.type === 'job.done');
      assert.ok(done, `the job completed: ${JSON.stringify(events.find((event) => event.type === 'job.failed'))}`);
      await eventually(() => checkedRuns(outcomes, done.jobId!).length === 2, 10_000, 'the verdict at the aggregator');
      assertCheckedOnTwoProviders(outcomes, done.jobId!);
    } finally {
      ws.close();
    }
  });

  it("an API request: the node's default redundant:2 runs a check on a second provider and the verdict is sent", async () => {
    const judged = outcomes.length;
    const response = await fetch(`${client.daemon.apiUrl!}/v1/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'stories260K', prompt: 'Once upon a time', max_tokens: 12, temperature: 0 }),
    });
    assert.equal(response.status, 200, await response.clone().text());
    await eventually(() => outcomes.length === judged + 2, 10_000, 'the verdict at the aggregator');
    assertCheckedOnTwoProviders(outcomes, outcomes.at(-1)!.jobId);
  });

  it("a batch's request under redundant:2: the other provider checks it and the verdict is sent", async () => {
    const judged = outcomes.length;
    batches = await openBatchStore(nodeHome(aggregator.home), validateNodeConfig({ role: 'aggregator' }, 'test'));
    // One request: each provider has one slot, and a check needs a provider the batch leaves free.
    const line = JSON.stringify({ custom_id: 'a', method: 'POST', url: '/v1/completions', body: { prompt: 'Once upon a time', max_tokens: 8, temperature: 0 } });
    const batch = await submitBatch(batches.store, { input: line, inputName: 'test', model: 'stories260K', verification: REDUNDANT_2, requestTimeoutMs: 60_000 });
    await eventually(async () => ['completed', 'failed'].includes((await batches!.store.getBatch(batch.batchId)).state), 90_000, 'the batch to end');
    const ended = await batches.store.getBatch(batch.batchId);
    assert.equal(ended.completed, 1, JSON.stringify(ended));
    await eventually(() => outcomes.length === judged + 2, 10_000, 'the verdict at the aggregator');
    assertCheckedOnTwoProviders(outcomes, outcomes.at(-1)!.jobId);
  });
});
