// The `infernet batch` command's contract without providers: a bad file is refused whole with its lines named
// and nothing queued; a file given by content id is read from the home's content store; status and results of
// a batch not run yet; a cancel recorded for the daemon, which ends the batch once started; homes that cannot run
// batches are told why.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { eventually, runCli, startDaemon } from '../support/cli.js';
import { batchInputLines } from './batch-cluster.js';

describe('infernet batch (no daemon running, then one)', () => {
  let dir: string;
  const home = () => join(dir, 'aggregator');
  /** The batch cancelled while no daemon ran. */
  let cancelledId = '';

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infernet-batch-cli-'));
    assert.equal((await runCli(['init', '--home', home(), '--role', 'aggregator', '--port', '0'])).code, 0);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('refuses a file with bad lines, naming each, and queues nothing', async () => {
    const file = join(dir, 'bad.jsonl');
    const good = batchInputLines(2, 4);
    await writeFile(file, [good[0], '{"custom_id": "x"', good[1], good[0]].join('\n'));
    const result = await runCli(['batch', 'submit', file, '--model', 'stories260K', '--home', home()]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /nothing was queued/);
    assert.match(result.stderr, /line 2: not valid JSON/);
    assert.match(result.stderr, /line 4: custom_id "request-0" repeats line 1/);
  });

  it('queues a file given by its content id, and reports it queued until a daemon runs it', async () => {
    const file = join(dir, 'input.jsonl');
    await writeFile(file, batchInputLines(5, 4).join('\n') + '\n');
    const added = await runCli(['content', 'add', file, '--home', home(), '--json']);
    assert.equal(added.code, 0, added.stderr);
    const { cid } = JSON.parse(added.stdout) as { cid: string };

    const submitted = await runCli(['batch', 'submit', cid, '--model', 'stories260K', '--home', home(), '--json']);
    assert.equal(submitted.code, 0, submitted.stderr);
    const batch = JSON.parse(submitted.stdout) as { id: string; status: string; total: number; input: string; model: string };
    assert.deepEqual([batch.status, batch.total, batch.input, batch.model], ['queued', 5, cid, 'stories260K']);

    const status = await runCli(['batch', 'status', batch.id, '--home', home(), '--json']);
    assert.equal(status.code, 0, status.stderr);
    assert.deepEqual((JSON.parse(status.stdout) as { status: string; completed: number }).status, 'queued');

    const results = await runCli(['batch', 'results', batch.id, '--out', join(dir, 'out.jsonl'), '--home', home()]);
    assert.equal(results.code, 1);
    assert.match(results.stderr, /is queued \(0\/5 done\)/);
  });

  it('records a cancel of a queued batch, which stays cancelling until a daemon ends it, and refuses its results till then', async () => {
    const file = join(dir, 'to-cancel.jsonl');
    await writeFile(file, batchInputLines(3, 4).join('\n') + '\n');
    const submitted = await runCli(['batch', 'submit', file, '--model', 'stories260K', '--home', home(), '--json']);
    const { id } = JSON.parse(submitted.stdout) as { id: string };
    cancelledId = id;
    const cancelled = await runCli(['batch', 'cancel', id, '--home', home()]);
    assert.equal(cancelled.code, 0, cancelled.stderr);
    assert.match(cancelled.stdout, new RegExp(`batch ${id} cancelling: no daemon runs on .*: the cancel ends it when one starts`));
    const again = JSON.parse((await runCli(['batch', 'cancel', id, '--home', home(), '--json'])).stdout) as { status: string; cancelRequestedAt: string };
    const status = JSON.parse((await runCli(['batch', 'status', id, '--home', home(), '--json'])).stdout) as { status: string; cancelRequestedAt: string };
    assert.equal(status.status, 'cancelling');
    assert.equal(again.cancelRequestedAt, status.cancelRequestedAt, 'a second cancel keeps the first time');
    const results = await runCli(['batch', 'results', id, '--out', join(dir, 'out.jsonl'), '--home', home()]);
    assert.equal(results.code, 1);
    assert.match(results.stderr, /is cancelling \(0\/3 done\)/);
    const listed = JSON.parse((await runCli(['batch', 'list', '--home', home(), '--json'])).stdout) as { id: string; status: string; total: number }[];
    assert.deepEqual(listed[0], { ...listed[0], id, status: 'cancelling', total: 3 }, 'newest first, with its status');
    assert.ok(listed.length >= 2 && listed.slice(1).every((batch) => batch.status === 'queued'));
    assert.match((await runCli(['batch', 'list', '--home', home()])).stdout, new RegExp(`${id} .* stories260K .* 0/3 .* cancelling`));
    const unknown = await runCli(['batch', 'cancel', 'batch_0000000000000000', '--home', home()]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no batch batch_0000000000000000/);
  });

  it('a daemon started later ends the batch cancelled while none ran, without running its requests, while it runs another', async () => {
    const daemon = await startDaemon(home());
    try {
      const status = async () => (JSON.parse((await runCli(['batch', 'status', cancelledId, '--home', home(), '--json'])).stdout) as { status: string; completed: number; failed: number }).status;
      await eventually(async () => (await status()) === 'cancelled', 20_000, 'the cancel to end the batch');
      const out = join(dir, 'cancelled.jsonl');
      const results = await runCli(['batch', 'results', cancelledId, '--out', out, '--home', home()]);
      assert.equal(results.code, 0, results.stderr);
      assert.match(results.stdout, /wrote 3 lines .* \(0 responses, 3 errors\)/);
      const lines = (await readFile(out, 'utf8')).trimEnd().split('\n').map((line) => JSON.parse(line) as { custom_id: string; error: { code: string } });
      assert.deepEqual(lines.map((line) => [line.custom_id, line.error.code]), [0, 1, 2].map((n) => [`request-${n}`, 'batch_cancelled']));
      const listed = JSON.parse((await runCli(['batch', 'list', '--home', home(), '--json'])).stdout) as { id: string; status: string }[];
      assert.ok(listed.some((batch) => batch.status === 'running'), 'the runner holds the older queued batch meanwhile (no provider serves it)');
    } finally {
      await daemon.stop();
    }
  });

  it('names a content id this home does not hold, an unknown batch, and a home that cannot run batches', async () => {
    const missing = await runCli(['batch', 'submit', 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy', '--model', 'stories260K', '--home', home()]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /does not hold it: fetch it first/);
    const unknown = await runCli(['batch', 'status', 'batch_0000000000000000', '--home', home()]);
    assert.equal(unknown.code, 1);
    assert.match(unknown.stderr, /no batch batch_0000000000000000/);
    assert.equal((await runCli(['init', '--home', join(dir, 'client'), '--role', 'client'])).code, 0);
    const client = await runCli(['batch', 'status', 'batch_0000000000000000', '--home', join(dir, 'client')]);
    assert.equal(client.code, 1);
    assert.match(client.stderr, /batches run on an aggregator/);
  });
});
