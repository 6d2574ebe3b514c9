// The aggregator SIGKILLed in the middle of a batch, then started again: it resumes from the shard state and
// results in its store. Results written before the kill are kept as they were, only the rest is run, and the
// merged output still has one line per request in order.
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { writeFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadNodeConfig, nodeHome } from '../../src/config/index.js';
import { silentLogger } from '../../src/log/index.js';
import { openNodeStore } from '../../src/node/node-store.js';
import { runCli } from '../support/cli.js';
import { batchInputLines, startBatchCluster, type BatchCluster } from './batch-cluster.js';

const REQUESTS = 150;

describe('an aggregator killed mid-batch and restarted', () => {
  let cluster: BatchCluster;
  let inputFile: string;

  before(async () => {
    cluster = await startBatchCluster({ providers: 2, prefix: 'infernet-batch-resume-' });
    inputFile = join(cluster.dir, 'input.jsonl');
    await writeFile(inputFile, batchInputLines(REQUESTS, 4).join('\n') + '\n');
  });
  after(async () => {
    await cluster?.stop();
  });

  it('resumes from its persisted shards, keeps what was done, and runs each remaining request', async () => {
    const submitted = await runCli(['batch', 'submit', inputFile, '--model', 'stories260K', '--home', cluster.aggregatorHome, '--json']);
    assert.equal(submitted.code, 0, submitted.stderr);
    const { id } = JSON.parse(submitted.stdout) as { id: string };
    await cluster.waitForBatch(id, (batch) => batch.completed >= REQUESTS / 3);
    cluster.aggregator.process.kill('SIGKILL');
    await once(cluster.aggregator.process, 'exit');
    // Its PocketBase outlives it until the next start replaces it: what the store held at the kill.
    const store = await cluster.store();
    const before = new Map((await store.resultsOf(id)).map((result) => [result.index, result.line]));
    assert.equal((await store.getBatch(id)).state, 'running');
    assert.ok(before.size >= REQUESTS / 3 && before.size < REQUESTS, `${before.size} results stored at the kill`);

    await cluster.restartAggregator();
    const finished = await cluster.waitForBatch(id, (batch) => batch.state === 'completed');
    assert.deepEqual([finished.completed, finished.failed], [REQUESTS, 0]);

    const outFile = join(cluster.dir, 'output.jsonl');
    const results = await runCli(['batch', 'results', id, '--out', outFile, '--home', cluster.aggregatorHome]);
    assert.equal(results.code, 0, results.stderr);
    const lines = (await readFile(outFile, 'utf8')).trimEnd().split('\n');
    assert.equal(lines.length, REQUESTS);
    lines.forEach((line, index) => {
      const parsed = JSON.parse(line) as { custom_id: string; error: unknown };
      assert.equal(parsed.custom_id, `request-${index}`);
      assert.equal(parsed.error, null);
      if (before.has(index)) assert.equal(line, before.get(index), `request ${index}, done before the kill, was kept, not run again`);
    });

    const status = JSON.parse((await runCli(['batch', 'status', id, '--home', cluster.aggregatorHome, '--json'])).stdout) as { shards: { state: string; reason: string | null; requests: number }[] };
    const reopened = status.shards.filter((shard) => shard.reason?.includes('restarted'));
    assert.ok(reopened.length >= 1, 'the shards open at the kill were closed and their requests planned again');

    const home = nodeHome(cluster.aggregatorHome);
    const jobStore = await openNodeStore(home, await loadNodeConfig(home), silentLogger());
    const jobs = await jobStore.store.list({ role: 'aggregator', limit: 2000 }).finally(() => jobStore.close());
    const completedJobs = jobs.filter((job) => job.jobId.startsWith(id) && job.state === 'completed').length;
    // A few requests may finish in the moment between their last write and the kill, and run again.
    assert.ok(completedJobs >= REQUESTS && completedJobs <= REQUESTS + 20, `${completedJobs} jobs completed for ${REQUESTS} requests`);
  });
});
