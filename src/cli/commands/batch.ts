// `infernet batch`: submits a JSONL file of requests to an aggregator's batch runner, follows its progress, and
// writes the merged output. The batch lives in the aggregator home's store, so these commands work whether or
// not they run while the daemon does; the daemon runs what is queued.
import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { BatchInputError, BatchNotCancellableError, BatchNotFoundError, batchStatusOf, hasEveryLine, mergedJsonl, openBatchStore, submitBatch, type BatchRecord, type BatchStore, type ShardRecord } from '../../batch/index.js';
import { rolesOf } from '../../config/index.js';
import { ContentStore, parseCid } from '../../content/index.js';
import { npubOf } from '../../identity/index.js';
import { modelNameOf } from '../../models/index.js';
import { readLiveDaemonState } from '../../node/index.js';
import { Price, VerificationPolicy } from '../../protocol/index.js';
import { EXIT_CODES } from '../../errors/index.js';
import { CliError } from '../cli-error.js';
import { openNode, type OpenedNode } from '../open-node.js';

export const BATCH_USAGE = `infernet batch submit FILE --model M --home DIR [--json] [--timeout SECONDS] [--price-cap AMOUNT]
  [--verification none|redundant:K|sampled:P]
  Queues a JSONL file of OpenAI batch requests on an aggregator home; on a terminal, shows progress until done.
  FILE may be the content id of a file the home's content store holds.
infernet batch status ID --home DIR [--json]
infernet batch list --home DIR [--json]
  The home's batches, newest first, with their status and counts.
infernet batch cancel ID --home DIR [--json]
  Stops a queued or running batch: requests in flight are cancelled, the rest never run; each gets a
  batch_cancelled error line, and the answers already in stay in its results.
infernet batch results ID --out FILE --home DIR`;

const FOLLOW_INTERVAL_MS = 500;
const BAR_WIDTH = 30;

export async function batchCommand(argv: string[]): Promise<void> {
  const [action, ...rest] = argv;
  if (action === 'submit') return submit(rest);
  if (action === 'status') return status(rest);
  if (action === 'results') return results(rest);
  if (action === 'cancel') return cancel(rest);
  if (action === 'list') return list(rest);
  throw new CliError(`batch: unknown action "${action ?? ''}" (try: submit, status, list, cancel, results)`, EXIT_CODES.usage);
}

async function submit(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { home: { type: 'string' }, model: { type: 'string' }, json: { type: 'boolean' }, timeout: { type: 'string' }, 'price-cap': { type: 'string' }, verification: { type: 'string' } },
  });
  const [file] = positionals;
  if (!file || positionals.length > 1) throw new CliError('batch submit takes one FILE: a JSONL file of requests');
  if (!values.model) throw new CliError('--model is required (a model name or a GGUF path)');
  const node = await openAggregatorHome(values.home);
  const input = await readBatchInput(file, node);
  const model = /\.gguf$/i.test(values.model) ? modelNameOf(values.model) : values.model;
  const batch = await withStore(node, (store) =>
    submitBatch(store, {
      input,
      inputName: file,
      model,
      ...(values.timeout ? { requestTimeoutMs: seconds(values.timeout) * 1000 } : {}),
      ...(values['price-cap'] ? { priceCap: priceCapOf(values['price-cap']) } : {}),
      ...(values.verification ? { verification: verificationOf(values.verification) } : {}),
    }).catch((error: unknown) => {
      if (error instanceof BatchInputError) throw new CliError(`the batch was refused, nothing was queued: ${error.message}`);
      throw error;
    }),
  );
  const running = await readLiveDaemonState(node.home.daemonStateFile);
  if (values.json) return console.log(JSON.stringify(batchJson(batch)));
  console.log(`batch ${batch.batchId} queued: ${batch.total} requests for ${batch.model}`);
  if (!running) return console.log(`no daemon runs on ${node.home.dir} now: it runs the batch once started (infernet start --home ${node.home.dir})`);
  if (process.stdout.isTTY) await follow(node, batch.batchId);
  else console.log(`follow it with: infernet batch status ${batch.batchId} --home ${node.home.dir}`);
}

/**
 * FILE is a path, or the content id of a file this home's content store holds (`infernet content add` or
 * `content get`): the bytes are read from where the store keeps them.
 */
async function readBatchInput(file: string, node: OpenedNode): Promise<string> {
  const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => error);
  if (typeof text === 'string') return text;
  if (text.code !== 'ENOENT' || !looksLikeCid(file)) throw new CliError(`cannot read ${file}: ${text.code === 'ENOENT' ? 'no such file' : text.message}`);
  const cid = parseCid(file).toString();
  const manifest = await new ContentStore(node.home.dir).manifest(cid);
  if (!manifest) throw new CliError(`${cid} is not a file here and this home's content store does not hold it: fetch it first (infernet content get ${cid} --out PATH --home ${node.home.dir})`);
  return readFile(manifest.path, 'utf8');
}

function looksLikeCid(text: string): boolean {
  try {
    parseCid(text);
    return true;
  } catch {
    return false;
  }
}

async function status(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { home: { type: 'string' }, json: { type: 'boolean' } } });
  const id = batchIdOf(positionals);
  const node = await openAggregatorHome(values.home);
  const { batch, shards } = await withStore(node, async (store) => ({ batch: await store.getBatch(id), shards: await store.shardsOf(id) }));
  if (values.json) return console.log(JSON.stringify({ ...batchJson(batch), shards: shards.map(shardJson) }, null, 2));
  console.log(`${batch.batchId}  ${batchStatusOf(batch)}  ${batch.model}  from ${batch.inputName}`);
  console.log(progressLine(batch));
  for (const shard of shards) {
    const owner = shard.provider ? npubOf(shard.provider).slice(0, 16) : '(unassigned)';
    console.log(`  ${shard.shardId.padEnd(5)} ${shard.state.padEnd(9)} ${owner.padEnd(16)} ${String(shard.done).padStart(6)}/${String(shard.indices.length).padEnd(6)} attempt ${shard.attempt}${shard.reason ? `  ${shard.reason}` : ''}`);
  }
}

async function list(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { home: { type: 'string' }, json: { type: 'boolean' } } });
  if (positionals.length) throw new CliError('batch list takes no ID: it lists every batch of the home');
  const node = await openAggregatorHome(values.home);
  const batches = await withStore(node, (store) => store.listBatches());
  if (values.json) return console.log(JSON.stringify(batches.map(batchJson), null, 2));
  if (!batches.length) return console.log(`no batches on ${node.home.dir}`);
  for (const batch of batches) console.log(`${batch.batchId}  ${new Date(batch.createdAt).toISOString()}  ${batch.model}  ${progressLine(batch)}`);
}

/** Records the cancel in the store; the daemon's batch runner stops the batch and writes it `cancelled`. */
async function cancel(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { home: { type: 'string' }, json: { type: 'boolean' } } });
  const id = batchIdOf(positionals);
  const node = await openAggregatorHome(values.home);
  const batch = await withStore(node, (store) =>
    store.requestCancel(id).catch((error: unknown) => {
      if (error instanceof BatchNotCancellableError) throw new CliError(error.message);
      throw error;
    }),
  );
  if (values.json) return console.log(JSON.stringify(batchJson(batch)));
  const status = batchStatusOf(batch);
  if (status === 'cancelled') return console.log(`batch ${id} is cancelled: ${batch.completed} answered, ${batch.failed} errors (write them with: infernet batch results ${id} --out FILE --home ${node.home.dir})`);
  const running = await readLiveDaemonState(node.home.daemonStateFile);
  console.log(`batch ${id} cancelling: ${running ? 'the daemon stops it' : `no daemon runs on ${node.home.dir} now: the cancel ends it when one starts (none of its requests run)`}; follow it with: infernet batch status ${id} --home ${node.home.dir}`);
}

async function results(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { home: { type: 'string' }, out: { type: 'string' } } });
  const id = batchIdOf(positionals);
  if (!values.out) throw new CliError('--out FILE is required: where the merged JSONL goes');
  const node = await openAggregatorHome(values.home);
  const { batch, text } = await withStore(node, async (store) => {
    const found = await store.getBatch(id);
    if (!hasEveryLine(found)) throw new CliError(`batch ${id} is ${batchStatusOf(found)} (${found.completed + found.failed}/${found.total} done): its results are written when it completes or is cancelled`);
    return { batch: found, text: mergedJsonl(found.total, await store.resultsOf(id)) };
  });
  await writeFile(values.out, text);
  console.log(`wrote ${batch.total} lines to ${values.out} (${batch.completed} responses, ${batch.failed} errors)`);
}

/** Redraws one progress line until the batch ends; Ctrl-C stops following, not the batch. */
async function follow(node: OpenedNode, batchId: string): Promise<void> {
  await withStore(node, async (store) => {
    const started = Date.now();
    for (;;) {
      const batch = await store.getBatch(batchId);
      const seconds = (Date.now() - started) / 1000;
      const rate = seconds > 0 ? ` ${((batch.completed + batch.failed) / seconds).toFixed(1)} req/s` : '';
      process.stdout.write(`\r${progressLine(batch)}${rate}   `);
      if (batch.state !== 'queued' && batch.state !== 'running') break; // a cancelling batch is still running
      await new Promise((resolve) => setTimeout(resolve, FOLLOW_INTERVAL_MS));
    }
    process.stdout.write(`\nwrite the results with: infernet batch results ${batchId} --out FILE --home ${node.home.dir}\n`);
  });
}

function progressLine(batch: BatchRecord): string {
  const done = batch.completed + batch.failed;
  const share = batch.total ? done / batch.total : 1;
  const filled = Math.round(share * BAR_WIDTH);
  return `[${'#'.repeat(filled)}${'.'.repeat(BAR_WIDTH - filled)}] ${done}/${batch.total} (${Math.floor(share * 100)}%) ${batch.failed} failed  ${batchStatusOf(batch)}`;
}

function batchJson(batch: BatchRecord): object {
  return {
    id: batch.batchId,
    status: batchStatusOf(batch),
    model: batch.model,
    input: batch.inputName,
    total: batch.total,
    completed: batch.completed,
    failed: batch.failed,
    createdAt: new Date(batch.createdAt).toISOString(),
    ...(batch.finishedAt ? { finishedAt: new Date(batch.finishedAt).toISOString() } : {}),
    ...(batch.cancelRequestedAt ? { cancelRequestedAt: new Date(batch.cancelRequestedAt).toISOString() } : {}),
  };
}

function shardJson(shard: ShardRecord): object {
  return { id: shard.shardId, state: shard.state, provider: shard.provider ? npubOf(shard.provider) : null, requests: shard.indices.length, done: shard.done, attempt: shard.attempt, reason: shard.reason || null };
}

async function openAggregatorHome(homeFlag: string | undefined): Promise<OpenedNode> {
  const node = await openNode(homeFlag);
  if (!rolesOf(node.config.role).aggregator) throw new CliError(`batches run on an aggregator, and ${node.home.dir} is a ${node.config.role} node: use an aggregator's (or an all-in-one node's) home`);
  return node;
}

async function withStore<T>(node: OpenedNode, use: (store: BatchStore) => Promise<T>): Promise<T> {
  const opened = await openBatchStore(node.home, node.config);
  try {
    return await use(opened.store);
  } catch (error) {
    if (error instanceof BatchNotFoundError) throw new CliError(error.message);
    throw error;
  } finally {
    await opened.close();
  }
}

function batchIdOf(positionals: string[]): string {
  const [id] = positionals;
  if (!id || positionals.length > 1) throw new CliError('name one batch ID (as `batch submit` printed it)');
  return id;
}

function seconds(text: string): number {
  const value = Number(text);
  if (!Number.isFinite(value) || value <= 0 || value > 3600) throw new CliError(`--timeout must be seconds between 0 and 3600, got "${text}"`);
  return value;
}

function priceCapOf(text: string): Price {
  const parsed = Price.safeParse({ amount: text, currency: 'USDC', per: '1k_tokens' });
  if (!parsed.success) throw new CliError(`--price-cap must be an amount in USDC per 1k tokens, got "${text}"`);
  return parsed.data;
}

function verificationOf(text: string): VerificationPolicy {
  const [kind, value] = text.split(':');
  const parsed = VerificationPolicy.safeParse(kind === 'redundant' ? { kind, k: Number(value) } : kind === 'sampled' ? { kind, p: Number(value) } : { kind });
  if (!parsed.success) throw new CliError(`--verification must be none, redundant:K (2-8) or sampled:P (0-1], got "${text}"`);
  return parsed.data;
}
