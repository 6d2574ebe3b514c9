// Where a batch lives between its submission and its last result: the batch with its requests, its shards,
// and its results in chunks. The aggregator resumes from here after a restart, and the CLI reads it.
import type PocketBase from 'pocketbase';
import { ClientResponseError } from 'pocketbase';
import type { Price, VerificationPolicy } from '../protocol/index.js';
import { COLLECTIONS, PocketBaseRequestError, type BatchResultRow, type BatchRow, type BatchShardRow } from '../storage/index.js';
import type { BatchRequest } from './batch-input.js';
import type { BatchResult } from './batch-output.js';
import { InfernetError } from '../errors/index.js';

export type BatchState = 'queued' | 'running' | 'completed' | 'failed' | 'cancelled';
/** What a batch is to its owner: its state, or `cancelling` between a cancel asked for and the runner's `cancelled`. */
export type BatchStatus = BatchState | 'cancelling';
export type ShardState = 'pending' | 'running' | 'completed' | 'failed' | 'split';

export interface BatchOptions {
  priceCap?: Price;
  verification?: VerificationPolicy;
  /** Deadline of each request; a request past it is retried on another provider. */
  requestTimeoutMs: number;
}

export interface BatchRecord {
  batchId: string;
  model: string;
  state: BatchState;
  total: number;
  completed: number;
  failed: number;
  options: BatchOptions;
  /** The file (or content id) it was read from. */
  inputName: string;
  error?: { code: string; message: string };
  createdAt: number;
  updatedAt: number;
  finishedAt?: number;
  /** When a cancel was asked for; the runner then stops the batch and writes `cancelled`. */
  cancelRequestedAt?: number;
  /** Of `failed`, the requests a cancel ended unanswered (batch_cancelled lines); 0 unless the batch was cancelled. */
  cancelled: number;
}

/** Completed or cancelled: every request has its line (a cancelled one's unanswered as batch_cancelled). */
export const hasEveryLine = (batch: Pick<BatchRecord, 'state'>): boolean => batch.state === 'completed' || batch.state === 'cancelled';

/** No runner holds it any more, nor will. */
export const isBatchEnded = (batch: Pick<BatchRecord, 'state'>): boolean => hasEveryLine(batch) || batch.state === 'failed';

export const isCancelRequested = (batch: Pick<BatchRecord, 'cancelRequestedAt'>): boolean => (batch.cancelRequestedAt ?? 0) > 0;

export function batchStatusOf(batch: Pick<BatchRecord, 'state' | 'cancelRequestedAt'>): BatchStatus {
  return isCancelRequested(batch) && (batch.state === 'queued' || batch.state === 'running') ? 'cancelling' : batch.state;
}

export interface ShardRecord {
  batchId: string;
  shardId: string;
  indices: number[];
  /** Hex public key; '' while no provider holds it. */
  provider: string;
  state: ShardState;
  attempt: number;
  done: number;
  reason: string;
  updatedAt: number;
}

export type NewBatch = Pick<BatchRecord, 'batchId' | 'model' | 'options' | 'inputName'>;
export type BatchPatch = Partial<Pick<BatchRecord, 'state' | 'completed' | 'failed' | 'cancelled' | 'error' | 'finishedAt'>>;

export class BatchNotFoundError extends InfernetError {
  override readonly name = 'BatchNotFoundError';
  constructor(readonly batchId: string) {
    super('job_not_found', `no batch ${batchId} on this node`);
  }
}

/** A cancel asked of a batch that has already ended. */
export class BatchNotCancellableError extends InfernetError {
  override readonly name = 'BatchNotCancellableError';
  constructor(readonly batch: BatchRecord) {
    // The ask does not fit the batch's state: the wire's 400, as for a frame that does not fit its schema.
    super('invalid_frame', `batch ${batch.batchId} is ${batch.state}: only a queued or running batch can be cancelled`);
  }
}

/** A delete asked of a batch its runner may still hold. */
export class BatchNotEndedError extends InfernetError {
  override readonly name = 'BatchNotEndedError';
  constructor(readonly batch: BatchRecord) {
    super('invalid_frame', `batch ${batch.batchId} is ${batchStatusOf(batch)}: only an ended batch can be deleted (cancel it first)`);
  }
}

export interface BatchStore {
  createBatch(batch: NewBatch, requests: readonly BatchRequest[]): Promise<BatchRecord>;
  /** Throws BatchNotFoundError. */
  getBatch(batchId: string): Promise<BatchRecord>;
  listBatches(filter?: { states?: readonly BatchState[] }): Promise<BatchRecord[]>;
  requestsOf(batchId: string): Promise<BatchRequest[]>;
  updateBatch(batchId: string, patch: BatchPatch): Promise<void>;
  /**
   * Records that the batch's owner asked to cancel it, once (a second ask keeps the first time), and answers the
   * batch as it is now. Throws BatchNotCancellableError for a batch that has ended, cancelled ones aside.
   */
  requestCancel(batchId: string): Promise<BatchRecord>;
  /** Forgets an ended batch: its results, shards and record. Throws BatchNotEndedError while it may still run. */
  deleteBatch(batchId: string): Promise<void>;
  /** Creates or replaces shards by (batchId, shardId). */
  saveShards(shards: readonly ShardRecord[]): Promise<void>;
  shardsOf(batchId: string): Promise<ShardRecord[]>;
  appendResults(batchId: string, results: readonly BatchResult[]): Promise<void>;
  resultsOf(batchId: string): Promise<BatchResult[]>;
}

/** PocketBase runs at most this many operations in one batch request (backend/migrations settings). */
const MAX_BATCH_OPERATIONS = 50;
/** Result chunks are large: fewer per page. */
const RESULT_PAGE_SIZE = 50;
const LIST_PAGE_SIZE = 500;

export class PocketBaseBatchStore implements BatchStore {
  private readonly batchRowIds = new Map<string, string>();
  private readonly shardRowIds = new Map<string, string>();

  /** `pb` must be authenticated as the superuser. */
  constructor(private readonly pb: PocketBase) {}

  async createBatch(batch: NewBatch, requests: readonly BatchRequest[]): Promise<BatchRecord> {
    const now = Date.now();
    const body: Omit<BatchRow, 'id' | 'collectionId' | 'collectionName'> = {
      ...batch,
      options: { ...batch.options },
      state: 'queued',
      total: requests.length,
      completed: 0,
      failed: 0,
      requests: [...requests],
      error: null,
      createdAt: now,
      updatedAt: now,
      finishedAt: 0,
      cancelRequestedAt: 0,
      cancelled: 0,
    };
    const row = await this.request(`create batch ${batch.batchId}`, () => this.pb.collection(COLLECTIONS.batches).create<BatchRow>(body, { fields: BATCH_FIELDS }));
    this.batchRowIds.set(batch.batchId, row.id);
    return toBatchRecord(row);
  }

  async getBatch(batchId: string): Promise<BatchRecord> {
    return toBatchRecord(await this.batchRow(batchId, BATCH_FIELDS));
  }

  async listBatches(filter: { states?: readonly BatchState[] } = {}): Promise<BatchRecord[]> {
    const states = filter.states?.map((state, index) => [`state = {:s${index}}`, state] as const) ?? [];
    const where = states.length ? this.pb.filter(states.map(([clause]) => clause).join(' || '), Object.fromEntries(states.map(([, state], index) => [`s${index}`, state]))) : '';
    const rows = await this.request('list batches', () => this.pb.collection(COLLECTIONS.batches).getFullList<BatchRow>({ batch: LIST_PAGE_SIZE, sort: '-createdAt', fields: BATCH_FIELDS, ...(where ? { filter: where } : {}) }));
    for (const row of rows) this.batchRowIds.set(row.batchId, row.id);
    return rows.map(toBatchRecord);
  }

  async requestsOf(batchId: string): Promise<BatchRequest[]> {
    return ((await this.batchRow(batchId, 'id,batchId,requests')).requests ?? []) as BatchRequest[];
  }

  async updateBatch(batchId: string, patch: BatchPatch): Promise<void> {
    const id = this.batchRowIds.get(batchId) ?? (await this.batchRow(batchId, 'id,batchId')).id;
    const body = { ...patch, updatedAt: Date.now() };
    await this.request(`update batch ${batchId}`, () => this.pb.collection(COLLECTIONS.batches).update(id, body, { fields: 'id' }));
  }

  async requestCancel(batchId: string): Promise<BatchRecord> {
    const batch = await this.getBatch(batchId);
    if (batch.state === 'cancelled' || isCancelRequested(batch)) return batch;
    if (batch.state !== 'queued' && batch.state !== 'running') throw new BatchNotCancellableError(batch);
    const now = Date.now();
    // Only this field: the state stays the runner's to write, so a cancel can never race a state write.
    const id = this.batchRowIds.get(batchId)!;
    await this.request(`cancel batch ${batchId}`, () => this.pb.collection(COLLECTIONS.batches).update(id, { cancelRequestedAt: now }, { fields: 'id' }));
    return { ...batch, cancelRequestedAt: now };
  }

  async deleteBatch(batchId: string): Promise<void> {
    const batch = await this.getBatch(batchId);
    if (!isBatchEnded(batch)) throw new BatchNotEndedError(batch);
    const filter = this.pb.filter('batchId = {:id}', { id: batchId });
    for (const collection of [COLLECTIONS.batchResults, COLLECTIONS.batchShards]) {
      const rows = await this.request(`list ${collection} of ${batchId}`, () => this.pb.collection(collection).getFullList<{ id: string }>({ batch: LIST_PAGE_SIZE, filter, fields: 'id' }));
      await this.deleteRows(collection, rows.map((row) => row.id));
    }
    // The record last: a delete cut short leaves the batch listed, and deleting it again finishes the job.
    await this.deleteRows(COLLECTIONS.batches, [this.batchRowIds.get(batchId)!]);
    this.batchRowIds.delete(batchId);
    for (const key of [...this.shardRowIds.keys()]) if (key.startsWith(`${batchId}/`)) this.shardRowIds.delete(key);
    this.loadedShardIds.delete(batchId);
  }

  private async deleteRows(collection: string, ids: readonly string[]): Promise<void> {
    for (let start = 0; start < ids.length; start += MAX_BATCH_OPERATIONS) {
      const batch = this.pb.createBatch();
      for (const id of ids.slice(start, start + MAX_BATCH_OPERATIONS)) batch.collection(collection).delete(id);
      await this.request(`delete ${ids.length} rows of ${collection}`, () => batch.send());
    }
  }

  async saveShards(shards: readonly ShardRecord[]): Promise<void> {
    for (let start = 0; start < shards.length; start += MAX_BATCH_OPERATIONS) {
      const chunk = shards.slice(start, start + MAX_BATCH_OPERATIONS);
      await this.resolveShardRowIds(chunk);
      const batch = this.pb.createBatch();
      for (const shard of chunk) {
        const id = this.shardRowIds.get(shardKey(shard));
        if (id) batch.collection(COLLECTIONS.batchShards).update(id, shard);
        else batch.collection(COLLECTIONS.batchShards).create(shard);
      }
      const answers = await this.request(`save ${chunk.length} shards`, () => batch.send());
      answers.forEach((answer, index) => {
        const row = answer.body as Pick<BatchShardRow, 'id'>;
        if (row?.id) this.shardRowIds.set(shardKey(chunk[index]!), row.id);
      });
    }
  }

  async shardsOf(batchId: string): Promise<ShardRecord[]> {
    const rows = await this.request(`list shards of ${batchId}`, () =>
      this.pb.collection(COLLECTIONS.batchShards).getFullList<BatchShardRow>({ batch: LIST_PAGE_SIZE, filter: this.pb.filter('batchId = {:id}', { id: batchId }) }),
    );
    for (const row of rows) this.shardRowIds.set(shardKey(row), row.id);
    return rows.map(toShardRecord).sort((a, b) => (a.indices[0] ?? 0) - (b.indices[0] ?? 0) || a.shardId.localeCompare(b.shardId));
  }

  async appendResults(batchId: string, results: readonly BatchResult[]): Promise<void> {
    if (!results.length) return;
    const body: Omit<BatchResultRow, 'id' | 'collectionId' | 'collectionName'> = { batchId, results: results.map(({ index, line }) => ({ index, line })), createdAt: Date.now() };
    await this.request(`save ${results.length} results of ${batchId}`, () => this.pb.collection(COLLECTIONS.batchResults).create(body, { fields: 'id' }));
  }

  async resultsOf(batchId: string): Promise<BatchResult[]> {
    const rows = await this.request(`list results of ${batchId}`, () =>
      this.pb.collection(COLLECTIONS.batchResults).getFullList<BatchResultRow>({ batch: RESULT_PAGE_SIZE, filter: this.pb.filter('batchId = {:id}', { id: batchId }), sort: 'createdAt' }),
    );
    return rows.flatMap((row) => row.results ?? []);
  }

  private async batchRow(batchId: string, fields: string): Promise<BatchRow> {
    try {
      const row = await this.pb.collection(COLLECTIONS.batches).getFirstListItem<BatchRow>(this.pb.filter('batchId = {:id}', { id: batchId }), { fields });
      this.batchRowIds.set(batchId, row.id);
      return row;
    } catch (error) {
      if (error instanceof ClientResponseError && error.status === 404) throw new BatchNotFoundError(batchId);
      throw new PocketBaseRequestError(`read batch ${batchId}`, error instanceof ClientResponseError ? error.status : 0, { cause: error });
    }
  }

  /** Row ids of shards another process (an earlier run of this aggregator) created. */
  private async resolveShardRowIds(shards: readonly ShardRecord[]): Promise<void> {
    const unknown = shards.filter((shard) => !this.shardRowIds.has(shardKey(shard)));
    const batchIds = [...new Set(unknown.map((shard) => shard.batchId))];
    for (const batchId of batchIds) if (!this.loadedShardIds.has(batchId)) await this.shardsOf(batchId).then(() => this.loadedShardIds.add(batchId));
  }
  private readonly loadedShardIds = new Set<string>();

  private async request<T>(operation: string, send: () => Promise<T>): Promise<T> {
    try {
      return await send();
    } catch (error) {
      throw new PocketBaseRequestError(operation, error instanceof ClientResponseError ? error.status : 0, { cause: error });
    }
  }
}

const BATCH_FIELDS = 'id,batchId,model,state,total,completed,failed,options,inputName,error,createdAt,updatedAt,finishedAt,cancelRequestedAt,cancelled';

function shardKey(shard: Pick<ShardRecord, 'batchId' | 'shardId'>): string {
  return `${shard.batchId}/${shard.shardId}`;
}

function toBatchRecord(row: BatchRow): BatchRecord {
  return {
    batchId: row.batchId,
    model: row.model,
    state: row.state,
    total: row.total,
    completed: row.completed,
    failed: row.failed,
    cancelled: row.cancelled ?? 0,
    options: (row.options ?? { requestTimeoutMs: 120_000 }) as unknown as BatchOptions,
    inputName: row.inputName,
    ...(row.error ? { error: row.error } : {}),
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
    ...(row.finishedAt ? { finishedAt: row.finishedAt } : {}),
    ...(row.cancelRequestedAt ? { cancelRequestedAt: row.cancelRequestedAt } : {}),
  };
}

function toShardRecord(row: BatchShardRow): ShardRecord {
  return { batchId: row.batchId, shardId: row.shardId, indices: row.indices ?? [], provider: row.provider, state: row.state, attempt: row.attempt, done: row.done, reason: row.reason, updatedAt: row.updatedAt };
}
