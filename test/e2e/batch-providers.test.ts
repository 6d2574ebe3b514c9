// A batch of 2,000 requests over four provider daemons on loopback, one of them SIGKILLed halfway: the merged
// output has exactly one line per input line, in input order, each the text a single provider gives for that
// request (greedy, same seed), computed here once with the same engine the providers run.
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseBatchInput, specOfBatchRequest, type BatchRequest } from '../../src/batch/index.js';
import { LlamaCppEngine } from '../../src/inference/index.js';
import { GenerationInput } from '../../src/protocol/index.js';
import { runCli } from '../support/cli.js';
import { batchInputLines, startBatchCluster, STORIES_MODEL, type BatchCluster } from './batch-cluster.js';

const REQUESTS = 2000;
const MAX_TOKENS = 4;
const PROVIDERS = 4;

interface OutputLine {
  id: string;
  custom_id: string;
  response: { status_code: number; body: { choices: { message?: { content: string }; text?: string; finish_reason: string }[] } } | null;
  error: { code: string; message: string } | null;
}

/** What one provider (the same llama.cpp engine, one slot) answers to each request: computed in this process. */
async function referenceOutputs(requests: readonly BatchRequest[]): Promise<string[]> {
  const engine = new LlamaCppEngine({ threads: 1, contextSize: 2048, slots: 1 });
  try {
    const outputs: string[] = [];
    for (const [index, request] of requests.entries()) {
      const spec = specOfBatchRequest(request, `reference-${index}`, 60_000);
      outputs.push((await engine.generate({ modelPath: STORIES_MODEL, input: GenerationInput.parse(spec.input), sampling: spec.sampling })).text);
    }
    return outputs;
  } finally {
    await engine.close();
  }
}

describe('a 2,000-request batch over four providers, one killed halfway', () => {
  let cluster: BatchCluster;
  let requests: BatchRequest[];
  let reference: string[];
  let inputFile: string;

  before(async () => {
    const lines = batchInputLines(REQUESTS, MAX_TOKENS);
    requests = parseBatchInput(lines.join('\n'), 'stories260K');
    reference = await referenceOutputs(requests);
    cluster = await startBatchCluster({ providers: PROVIDERS, prefix: 'infernet-batch-kill-' });
    inputFile = join(cluster.dir, 'input.jsonl');
    await writeFile(inputFile, lines.join('\n') + '\n');
  });
  after(async () => {
    await cluster?.stop();
  });

  it('loses and duplicates nothing, keeps input order, and matches a single provider line by line', async () => {
    const submitted = await runCli(['batch', 'submit', inputFile, '--model', 'stories260K', '--home', cluster.aggregatorHome, '--json']);
    assert.equal(submitted.code, 0, submitted.stderr);
    const { id, status, total } = JSON.parse(submitted.stdout) as { id: string; status: string; total: number };
    assert.equal(status, 'queued');
    assert.equal(total, REQUESTS);

    await cluster.waitForBatch(id, (batch) => batch.completed + batch.failed >= REQUESTS / 2);
    const victim = cluster.providers[1]!;
    victim.process.kill('SIGKILL');
    const finished = await cluster.waitForBatch(id, (batch) => batch.state === 'completed');
    assert.equal(finished.completed, REQUESTS);
    assert.equal(finished.failed, 0);

    const status2 = await runCli(['batch', 'status', id, '--home', cluster.aggregatorHome, '--json']);
    assert.equal(status2.code, 0, status2.stderr);
    const shards = (JSON.parse(status2.stdout) as { shards: { provider: string | null; state: string; attempt: number; reason: string | null }[] }).shards;
    assert.ok(shards.some((shard) => shard.provider === victim.npub && shard.state === 'failed'), 'the killed provider’s shard is recorded failed');
    assert.ok(shards.some((shard) => shard.attempt > 0 && shard.provider !== victim.npub && shard.state === 'completed'), 'its requests were retried on another provider');

    const outFile = join(cluster.dir, 'output.jsonl');
    const results = await runCli(['batch', 'results', id, '--out', outFile, '--home', cluster.aggregatorHome]);
    assert.equal(results.code, 0, results.stderr);
    const text = await readFile(outFile, 'utf8');
    const lines = text.trimEnd().split('\n').map((line) => JSON.parse(line) as OutputLine);
    assert.equal(lines.length, REQUESTS);
    lines.forEach((line, index) => {
      assert.equal(line.custom_id, `request-${index}`, `line ${index + 1} is request ${index}`);
      assert.equal(line.error, null, `request ${index} failed: ${line.error?.message}`);
      const choice = line.response!.body.choices[0]!;
      assert.equal(choice.message?.content ?? choice.text, reference[index], `request ${index} equals the single-provider output`);
    });
    assert.equal(new Set(lines.map((line) => line.id)).size, REQUESTS, 'every line is a distinct job');
  });
});
