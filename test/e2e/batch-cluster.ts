// A batch cluster on loopback for the batch tests and benchmark: N provider daemons and one aggregator daemon,
// each a separate `infernet start` process, the providers in-process (sandbox none) with file job stores so that
// the two cores go to inference and the aggregator's PocketBase rather than to four more PocketBase processes.
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PocketBaseBatchStore, type BatchRecord } from '../../src/batch/index.js';
import { nodeHome, loadNodeConfig } from '../../src/config/index.js';
import { openBatchStore, type OpenedBatchStore } from '../../src/batch/index.js';
import { sharedModelPath } from '../../src/models/shared-test-models.js';
import { eventually, freePort, runCli, startDaemon, type RunningDaemon } from '../support/cli.js';

export const STORIES_MODEL = sharedModelPath('stories260K.gguf');
const BATCH_POLL_MS = 250;
/** 20 minutes of polls: the bound on any wait, whatever the progress. */
const MAX_BATCH_POLLS = (20 * 60 * 1000) / BATCH_POLL_MS;

export interface BatchCluster {
  dir: string;
  aggregatorHome: string;
  aggregator: RunningDaemon;
  providers: RunningDaemon[];
  providerHomes: string[];
  /** The aggregator's batch store, opened from this process. */
  store(): Promise<PocketBaseBatchStore>;
  /** Starts the aggregator again on the same home and port (after a kill or stop). */
  restartAggregator(): Promise<RunningDaemon>;
  /**
   * Until `done` holds. Fails when the batch makes no progress for `stallMs`: on a loaded two-core machine the
   * time a batch takes varies too much for one fixed limit, but a batch that stops moving is a failure.
   */
  /** Another aggregator on this cluster, linked to the first `providers` providers only (its store is its own). */
  addAggregator(name: string, providers: number): Promise<{ home: string; daemon: RunningDaemon; store: OpenedBatchStore }>;
  waitForBatch(batchId: string, done: (batch: BatchRecord) => boolean, stallMs?: number): Promise<BatchRecord>;
  stop(): Promise<void>;
}

export async function startBatchCluster(options: { providers: number; slots?: number; prefix?: string }): Promise<BatchCluster> {
  const dir = await mkdtemp(join(tmpdir(), options.prefix ?? 'infernet-batch-'));
  const providerHomes = Array.from({ length: options.providers }, (_, index) => join(dir, `provider-${index}`));
  const providers: RunningDaemon[] = [];
  let aggregator: RunningDaemon | undefined;
  let opened: OpenedBatchStore | undefined;
  const aggregatorHome = join(dir, 'aggregator');
  const extraAggregators: RunningDaemon[] = [];
  const extraStores: OpenedBatchStore[] = [];
  const stop = async () => {
    for (const store of extraStores) await store.close();
    for (const extra of extraAggregators) await stopIfRunning(extra);
    await opened?.close();
    if (aggregator) await stopIfRunning(aggregator);
    for (const provider of providers) await stopIfRunning(provider);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    await Promise.all(
      providerHomes.map(async (home) => {
        const init = await runCli(['init', '--home', home, '--role', 'provider', '--port', String(await freePort()), '--model', STORIES_MODEL, '--sandbox', 'none', '--slots', String(options.slots ?? 1)]);
        if (init.code !== 0) throw new Error(`init ${home}: ${init.stderr}`);
        await appendFile(join(home, 'config.yaml'), 'storage:\n  backend: file\n');
      }),
    );
    // One after another: started together on a loaded two-core machine, they can outlast startDaemon's wait.
    for (const home of providerHomes) providers.push(await startDaemon(home));
    const port = await freePort();
    const init = await runCli(['init', '--home', aggregatorHome, '--role', 'aggregator', '--port', String(port), ...providers.flatMap((provider) => ['--connect', provider.url])]);
    if (init.code !== 0) throw new Error(`init aggregator: ${init.stderr}`);
    aggregator = await startDaemon(aggregatorHome);
    await waitForProviders(aggregatorHome, providers.length);
  } catch (error) {
    await stop();
    throw error;
  }
  const cluster: BatchCluster = {
    dir,
    aggregatorHome,
    get aggregator() {
      return aggregator!;
    },
    providers,
    providerHomes,
    store: async () => {
      if (!opened) {
        const home = nodeHome(aggregatorHome);
        opened = await openBatchStore(home, await loadNodeConfig(home));
      }
      return opened.store as PocketBaseBatchStore;
    },
    restartAggregator: async () => {
      await opened?.close();
      opened = undefined;
      aggregator = await startDaemon(aggregatorHome);
      return aggregator;
    },
    addAggregator: async (name, count) => {
      const home = join(dir, name);
      const init = await runCli(['init', '--home', home, '--role', 'aggregator', '--port', String(await freePort()), ...providers.slice(0, count).flatMap((provider) => ['--connect', provider.url])]);
      if (init.code !== 0) throw new Error(`init ${name}: ${init.stderr}`);
      const daemon = await startDaemon(home);
      extraAggregators.push(daemon);
      await waitForProviders(home, count);
      const node = nodeHome(home);
      const store = await openBatchStore(node, await loadNodeConfig(node));
      extraStores.push(store);
      return { home, daemon, store };
    },
    waitForBatch: async (batchId, done, stallMs = 60_000) => {
      let progress = -1;
      let movedAt = Date.now();
      for (let polls = 0; polls < MAX_BATCH_POLLS; polls++) {
        const batch = await (await cluster.store()).getBatch(batchId);
        if (done(batch)) return batch;
        if (batch.completed + batch.failed !== progress) [progress, movedAt] = [batch.completed + batch.failed, Date.now()];
        if (Date.now() - movedAt > stallMs) throw new Error(`batch ${batchId} made no progress for ${stallMs} ms: ${JSON.stringify(batch)}\n${aggregator?.log().slice(-4000)}`);
        await new Promise((resolve) => setTimeout(resolve, BATCH_POLL_MS));
      }
      throw new Error(`batch ${batchId} did not finish within ${MAX_BATCH_POLLS} polls`);
    },
    stop,
  };
  return cluster;
}

/** Until the aggregator's daemon.json lists a session with every provider. */
export async function waitForProviders(aggregatorHome: string, count: number): Promise<void> {
  await eventually(
    async () => {
      const result = await runCli(['status', '--home', aggregatorHome, '--json']);
      return result.code === 0 && (JSON.parse(result.stdout) as { daemon?: { peers: unknown[] } }).daemon?.peers.length === count;
    },
    30_000,
    `the aggregator to reach ${count} providers`,
  );
}

/** `count` distinct greedy requests, alternating chat and text completions, each with its own seed. */
export function batchInputLines(count: number, maxTokens: number): string[] {
  const openings = ['Once upon a time', 'The little dog', 'One day, Lily', 'Tom and his friend', 'In the park', 'The sun was'];
  return Array.from({ length: count }, (_, index) => {
    const prompt = `${openings[index % openings.length]} ${index}`;
    const seed = index;
    const body =
      index % 2 === 0
        ? { messages: [{ role: 'user', content: prompt }], max_tokens: maxTokens, temperature: 0, seed }
        : { prompt, max_tokens: maxTokens, temperature: 0, seed };
    return JSON.stringify({ custom_id: `request-${index}`, method: 'POST', url: index % 2 === 0 ? '/v1/chat/completions' : '/v1/completions', body });
  });
}

/** A daemon a test SIGKILLed has no exit code, only a signal: stopping it again would wait for an exit already past. */
async function stopIfRunning(daemon: RunningDaemon): Promise<void> {
  if (daemon.process.exitCode !== null || daemon.process.signalCode !== null) return;
  await daemon.stop();
}
