// Batch throughput (requests per second) on 1, 2 and 4 provider daemons from one run: three aggregators on the
// same four providers (linked to the first 1, 2 and all 4), the same batch on each, rounds alternated so that
// machine load falls on every configuration alike. Target: 4 providers at least 3.5 times one, where the
// providers do not share CPU cores; this prints how many cores the run had.
import { availableParallelism } from 'node:os';
import { submitBatch, type BatchStore } from '../src/batch/index.js';
import { batchInputLines, startBatchCluster } from '../test/e2e/batch-cluster.js';
import { reportFigure } from './summary/bench-figure.js';

const REQUESTS = Number(process.argv[2] ?? 240);
const MAX_TOKENS = 16;
const ROUNDS = 2;
const POLL_MS = 100;
/** A batch that has not finished in this long fails the benchmark. */
const BATCH_LIMIT_MS = 15 * 60 * 1000;

async function timeBatch(store: BatchStore): Promise<number> {
  const input = batchInputLines(REQUESTS, MAX_TOKENS).join('\n');
  const submitted = await submitBatch(store, { input, inputName: 'bench', model: 'stories260K' });
  for (const deadline = Date.now() + BATCH_LIMIT_MS; Date.now() < deadline; ) {
    const batch = await store.getBatch(submitted.batchId);
    if (batch.state === 'completed') {
      if (batch.failed) throw new Error(`${batch.failed} requests of the benchmark batch failed`);
      return REQUESTS / ((batch.finishedAt! - batch.createdAt) / 1000);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  throw new Error(`the benchmark batch did not finish within ${BATCH_LIMIT_MS / 1000} s`);
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const cluster = await startBatchCluster({ providers: 4, prefix: 'infernet-batch-bench-' });
try {
  const four = { store: await cluster.store() };
  const one = await cluster.addAggregator('aggregator-1', 1);
  const two = await cluster.addAggregator('aggregator-2', 2);
  const configurations = [
    { providers: 1, store: one.store.store, rates: [] as number[] },
    { providers: 2, store: two.store.store, rates: [] as number[] },
    { providers: 4, store: four.store, rates: [] as number[] },
  ];
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 === 0 ? configurations : [...configurations].reverse();
    for (const configuration of order) configuration.rates.push(await timeBatch(configuration.store));
  }
  const base = median(configurations[0]!.rates);
  console.log(`\nBatch throughput: ${REQUESTS} requests of ${MAX_TOKENS} greedy tokens (stories260K), median of ${ROUNDS} alternated rounds; ${availableParallelism()} CPU cores for all processes`);
  console.log('| providers | requests/s | vs 1 provider |');
  console.log('| --- | --- | --- |');
  for (const configuration of configurations) {
    const rate = median(configuration.rates);
    console.log(`| ${configuration.providers} | ${rate.toFixed(1)} | ${(rate / base).toFixed(2)}x |`);
  }
  const ratio = median(configurations[2]!.rates) / base;
  reportFigure({ name: 'requests/s, 4 providers / 1', value: ratio, unit: 'x', note: `${availableParallelism()} cores shared by every daemon: 3.5x needs a core per provider` });
  console.log(`scaling 4 vs 1 provider: ${ratio.toFixed(2)}x (target 3.5x where each provider has its own cores; here ${availableParallelism()} cores are shared by 4 providers, 3 aggregators and a PocketBase, so the ratio is bounded by the cores, not by the batch runner)`);
} finally {
  await cluster.stop();
}
