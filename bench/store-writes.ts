// Job-record writes per second through the JobStore (which writes a job_event with every record, in one batch)
// against raw PocketBase SDK creates of the same records, in one run on one PocketBase.
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COLLECTIONS, PocketBaseJobStore, startPocketBase } from '../src/storage/index.js';

const WRITES = 300;
const ROUNDS = 3;

async function timed(work: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  for (let i = 0; i < WRITES; i++) await work();
  return (WRITES / (performance.now() - started)) * 1000;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const pocketbase = await startPocketBase({ home: await mkdtemp(join(tmpdir(), 'infernet-bench-store-')) });
  const store = new PocketBaseJobStore(pocketbase.client);
  const raw = pocketbase.client.collection(COLLECTIONS.jobs);
  const now = () => Date.now();
  const rawCreate = () => raw.create({ jobId: randomUUID(), role: 'client', state: 'created', model: 'bench', createdAt: now(), updatedAt: now() });
  const storeCreate = () => store.create({ jobId: randomUUID(), role: 'client', model: 'bench' });
  const rates = { raw: [] as number[], store: [] as number[] };
  await timed(rawCreate); // warm-up
  for (let round = 0; round < ROUNDS; round++) {
    rates.raw.push(await timed(rawCreate));
    rates.store.push(await timed(storeCreate));
  }
  await store.close();
  await pocketbase.stop();
  const rawRate = median(rates.raw);
  const storeRate = median(rates.store);
  console.log(`\n# job-record writes, ${WRITES} sequential creates, median of ${ROUNDS} alternating rounds`);
  console.log('| path | writes/s |');
  console.log('| --- | --- |');
  console.log(`| raw PocketBase SDK create (record only) | ${rawRate.toFixed(0)} |`);
  console.log(`| JobStore.create (record + job_event, one batch) | ${storeRate.toFixed(0)} |`);
  console.log(`ratio store/raw: ${(storeRate / rawRate).toFixed(3)}`);
}

await main();
