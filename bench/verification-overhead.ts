// What verification costs: client throughput (jobs and output tokens per second) under sampled(0.1) against none,
// measured job by job alternately in one run, so that both see the same machine load. Nodes are in-process daemons over real sockets: one aggregator and two
// providers (a check needs a second provider), file stores. Under sampled(0.1) providers also record per-token
// fingerprints for every job (they cannot know which will be checked), and about one job in ten runs twice.
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeHome, validateNodeConfig, type NodeConfigInput } from '../src/config/index.js';
import { generateNodeKey } from '../src/identity/index.js';
import { silentLogger } from '../src/log/index.js';
import { sharedModelPath } from '../src/models/shared-test-models.js';
import { NodeDaemon } from '../src/node/node-daemon.js';
import { JobSpec, type VerificationPolicy } from '../src/protocol/index.js';
import { dialPeer } from '../src/transport/index.js';
import { runVerifiedJob } from '../src/client/index.js';
import { seededRandom } from '../src/verification/index.js';

const JOBS = 60;
const MAX_TOKENS = 64;
const logger = silentLogger();

async function startNode(input: NodeConfigInput): Promise<NodeDaemon> {
  const dir = await mkdtemp(join(tmpdir(), 'infernet-bench-verify-'));
  const config = validateNodeConfig({ listen: { port: 0 }, storage: { backend: 'file' }, ...input }, 'bench');
  return NodeDaemon.start({ home: nodeHome(dir), config, key: generateNodeKey(), logger, writeState: false });
}

interface Totals {
  jobs: number;
  tokens: number;
  executions: number;
  ms: number;
}

async function main(): Promise<void> {
  const model = sharedModelPath('stories260K.gguf');
  const providers = await Promise.all([0, 1].map(() => startNode({ role: 'provider', models: [model], provider: { slots: 2, sandbox: 'none' } })));
  const aggregator = await startNode({ role: 'aggregator', connect: providers.map((provider) => provider.url!) });
  while ((aggregator.aggregator?.providerCount ?? 0) < 2) await new Promise((resolve) => setTimeout(resolve, 20));
  const key = generateNodeKey();
  const session = await dialPeer(aggregator.url!, { identity: { key, role: 'client', agent: 'bench' }, limits: validateNodeConfig({}, 'bench').limits, logger });
  // A fixed seed: both runs of the benchmark check the same jobs, about one in ten.
  const random = seededRandom(7);
  const totals: Record<'none' | 'sampled', Totals> = { none: { jobs: 0, tokens: 0, executions: 0, ms: 0 }, sampled: { jobs: 0, tokens: 0, executions: 0, ms: 0 } };

  const job = async (name: 'none' | 'sampled', policy: VerificationPolicy, i: number) => {
    const started = performance.now();
    const spec = JobSpec.parse({ jobId: randomUUID(), model: { name: 'stories260K' }, input: { prompt: `Once upon a time, story ${i}` }, sampling: { maxTokens: MAX_TOKENS }, deadline: Date.now() + 60_000, verification: policy });
    const outcome = await runVerifiedJob(session, key, spec, { random });
    totals[name].ms += performance.now() - started;
    totals[name].jobs++;
    totals[name].tokens += outcome.tokens;
    totals[name].executions += outcome.verification.runs.length;
  };
  for (let i = 0; i < 4; i++) await job(i % 2 ? 'none' : 'sampled', i % 2 ? { kind: 'none' } : { kind: 'sampled', p: 0.1 }, i); // warm-up
  for (const t of Object.values(totals)) Object.assign(t, { jobs: 0, tokens: 0, executions: 0, ms: 0 });
  for (let i = 0; i < JOBS; i++) {
    // Which goes first alternates too, so neither always follows the other's leftovers.
    const order = i % 2 ? (['none', 'sampled'] as const) : (['sampled', 'none'] as const);
    for (const name of order) await job(name, name === 'none' ? { kind: 'none' } : { kind: 'sampled', p: 0.1 }, i);
  }
  session.close();
  await aggregator.stop();
  for (const provider of providers) await provider.stop();

  const rate = (t: Totals) => ({ jobsPerS: (t.jobs / t.ms) * 1000, tokensPerS: (t.tokens / t.ms) * 1000 });
  const none = rate(totals.none);
  const sampled = rate(totals.sampled);
  console.log(`\nVerification overhead (${JOBS} jobs of each, alternating, ${MAX_TOKENS} tokens, stories260K, 2 providers, in-process daemons)`);
  console.log(`  none           ${none.jobsPerS.toFixed(2)} jobs/s  ${none.tokensPerS.toFixed(0)} output tokens/s  (${totals.none.executions} executions for ${totals.none.jobs} jobs)`);
  console.log(`  sampled(0.1)   ${sampled.jobsPerS.toFixed(2)} jobs/s  ${sampled.tokensPerS.toFixed(0)} output tokens/s  (${totals.sampled.executions} executions for ${totals.sampled.jobs} jobs, fingerprints on every job)`);
  console.log(`  sampled(0.1) / none: ${(sampled.tokensPerS / none.tokensPerS).toFixed(2)} of the throughput`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
