// What a failover costs the client: two providers of stories260K and an aggregator as real `infernet start`
// processes; each round runs a greedy job uninterrupted, then the same job with its provider SIGKILLed at its
// first tokens (the job finishes on the other provider), then restarts the killed one. Prints the gap between the
// last token before the kill and the first after it against the median inter-token time, and the failed-over
// job's tokens/s against the uninterrupted run's. Usage: node dist/bench/failover.js [rounds]
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateNodeConfig } from '../src/config/index.js';
import { generateNodeKey, npubOf } from '../src/identity/index.js';
import { silentLogger } from '../src/log/index.js';
import { sharedModelPath } from '../src/models/shared-test-models.js';
import { runJob } from '../src/client/index.js';
import { JobSpec } from '../src/protocol/index.js';
import { dialPeer } from '../src/transport/index.js';
import { eventually, freePort, runCli, startDaemon, type RunningDaemon } from '../test/support/cli.js';
import { reportFigure } from './summary/bench-figure.js';

const ROUNDS = Number(process.argv[2] ?? 5);
const MAX_TOKENS = 400;
const PROVIDERS = ['provider-a', 'provider-b'];

interface Timed {
  tokens: number;
  ms: number;
  /** Arrival times of streamed pieces, ms from the request. */
  arrivals: number[];
  /** Index in arrivals of the first piece from the replacement provider (failover runs). */
  resumedAt?: number;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? NaN;

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'infernet-bench-failover-'));
  const home = (name: string) => join(dir, name);
  const daemons: Record<string, RunningDaemon> = {};
  const model = sharedModelPath('stories260K.gguf');
  const peersOfAggregator = async () => (JSON.parse((await runCli(['status', '--home', home('aggregator'), '--json'])).stdout) as { daemon: { peers: unknown[] } }).daemon.peers.length;
  try {
    for (const name of PROVIDERS) {
      await runCli(['init', '--home', home(name), '--role', 'provider', '--port', String(await freePort()), '--model', model, '--sandbox', 'none', '--threads', '1']);
      daemons[name] = await startDaemon(home(name));
    }
    await runCli(['init', '--home', home('aggregator'), '--role', 'aggregator', '--port', String(await freePort()), ...PROVIDERS.flatMap((name) => ['--connect', daemons[name]!.url])]);
    daemons.aggregator = await startDaemon(home('aggregator'));
    const key = generateNodeKey();
    const limits = validateNodeConfig({}, 'bench').limits;
    const run = async (kill: boolean): Promise<Timed> => {
      await eventually(async () => (await peersOfAggregator()) >= 2, 60_000, 'the aggregator to reach both providers');
      const session = await dialPeer(daemons.aggregator!.url, { identity: { key, role: 'client', agent: 'bench' }, limits, logger: silentLogger() });
      const spec = JobSpec.parse({ jobId: randomUUID(), model: { name: 'stories260K' }, input: { prompt: 'Once upon a time' }, sampling: { maxTokens: MAX_TOKENS }, deadline: Date.now() + 120_000 });
      const started = performance.now();
      const arrivals: number[] = [];
      let victim: string | undefined;
      let resumedAt: number | undefined;
      let matches = 0;
      try {
        const outcome = await runJob(session, key, spec, {
          onMatched: (provider) => {
            if (++matches === 1) victim = PROVIDERS.find((name) => daemons[name]!.npub === npubOf(provider));
            else resumedAt = arrivals.length;
          },
          onText: () => {
            arrivals.push(performance.now() - started);
            if (kill && arrivals.length === 1) daemons[victim!]!.process.kill('SIGKILL');
          },
        });
        if (kill && outcome.lost?.length !== 1) throw new Error('the job did not fail over');
        return { tokens: outcome.tokens, ms: performance.now() - started, arrivals, ...(resumedAt !== undefined ? { resumedAt } : {}) };
      } finally {
        session.close();
        if (kill && victim) daemons[victim] = await startDaemon(home(victim));
      }
    };
    await run(false); // warm-up: both providers load the model
    const gaps: number[] = [];
    const intervals: number[] = [];
    const rates = { plain: [] as number[], failover: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      const plain = await run(false);
      const failed = await run(true);
      intervals.push(...plain.arrivals.slice(1).map((at, i) => at - plain.arrivals[i]!));
      if (failed.resumedAt !== undefined && failed.resumedAt > 0) gaps.push(failed.arrivals[failed.resumedAt]! - failed.arrivals[failed.resumedAt - 1]!);
      rates.plain.push((plain.tokens / plain.ms) * 1000);
      rates.failover.push((failed.tokens / failed.ms) * 1000);
    }
    const gap = median(gaps);
    const interval = median(intervals);
    reportFigure({ name: 'failover gap / median inter-token interval', value: gap / interval, unit: 'x' });
    reportFigure({ name: 'job tokens/s, failed over / uninterrupted', value: median(rates.failover) / median(rates.plain), unit: 'ratio' });
    console.log(`failover (${ROUNDS} rounds, stories260K, ${MAX_TOKENS} max tokens, provider SIGKILLed at its first tokens):`);
    console.log(`  gap between the last piece before the kill and the first after: median ${gap.toFixed(1)} ms (${gaps.map((g) => g.toFixed(0)).join(', ')})`);
    console.log(`  median interval between streamed pieces, uninterrupted: ${interval.toFixed(2)} ms; the gap is ${(gap / interval).toFixed(0)}x it`);
    console.log(`  job tokens/s: uninterrupted median ${median(rates.plain).toFixed(0)}, failed over median ${median(rates.failover).toFixed(0)} (${((median(rates.failover) / median(rates.plain)) * 100).toFixed(0)}%)`);
  } finally {
    for (const daemon of Object.values(daemons)) await daemon.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
