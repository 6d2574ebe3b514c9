// Runs one batch to its end: cuts the requests into shards per provider, runs each provider's shards on as many
// lanes as it has slots, retries a failed or timed-out shard's requests on other providers, lets a provider that
// runs dry take the tail of the slowest queue, and persists results and shards as it goes, so that a restart
// runs only what is not in the store yet. Each request is an ordinary job (runRequest). A cancel asked for in the
// store (batch-store's requestCancel) stops the requests in flight and ends the batch `cancelled`.
import { randomBytes } from 'node:crypto';
import { errorCodeOf, errorMessageOf } from '../errors/index.js';
import { JobFailedError, type JobOutcome } from '../client/job-client.js';
import type { Logger } from '../log/index.js';
import type { JobSpec } from '../protocol/index.js';
import { specOfBatchRequest, type BatchRequest } from './batch-input.js';
import { errorLine, isErrorLine, RESULT_CHUNK, successLine, type BatchRequestFailure, type BatchResult } from './batch-output.js';
import { isCancelRequested, type BatchRecord, type BatchStore, type ShardRecord, type ShardState } from './batch-store.js';
import { finishCancelledBatch } from './batch-cancel.js';
import { InfernetError } from '../errors/index.js';
import { chooseSteal, planShards, type ProviderCapacity } from './shard-plan.js';

/** A provider the aggregator can reach now, with its slots. */
export interface BatchProvider {
  id: string;
  slots: number;
}

/** Runs one request as a job on the named provider; rejects with JobFailedError. */
export type RunBatchRequest = (spec: JobSpec, provider: string, signal: AbortSignal) => Promise<JobOutcome>;

export interface BatchCoordinatorOptions {
  batch: BatchRecord;
  requests: readonly BatchRequest[];
  store: BatchStore;
  /** Providers of the batch's model connected now. */
  providers: () => BatchProvider[];
  runRequest: RunBatchRequest;
  logger: Logger;
  /** Aborted when the node stops: the batch is left running in the store, to resume at the next start. */
  signal?: AbortSignal;
  /** How often providers are looked at and results written (default 200 ms). */
  tickMs?: number;
  /** Requests still waiting when no provider has been reachable this long get an error line (default 60 s). */
  noProviderTimeoutMs?: number;
}

export interface BatchSummary {
  batchId: string;
  state: 'completed' | 'stopped' | 'cancelled';
  completed: number;
  failed: number;
}

/** Failures of one request rather than of its provider: the same request would fail anywhere. */
const REQUEST_FAILURES = new Set<string>(['engine_failed', 'invalid_frame', 'internal']);
/** A provider that is full right now: the request waits and goes to the same provider again. */
const BUSY_FAILURES = new Set<string>(['busy', 'rate_limited']);
const MAX_REQUEST_ATTEMPTS = 2;
const MAX_PROVIDER_ATTEMPTS = 4;
const MAX_BUSY_WAITS = 400;
const BUSY_WAIT_MS = 20;
/** A provider whose job failed is given no new work for this long (or until it reconnects). */
const PROVIDER_COOLDOWN_MS = 5_000;
/** A request is abandoned this long after its deadline if the provider never answered. */
const DEADLINE_GRACE_MS = 2_000;
const LATENCY_SMOOTHING = 0.2;
/** How often the store is asked whether the batch was cancelled. */
const CANCEL_POLL_MS = 500;
/** Writes of the last results tried before the run gives up and leaves the batch to resume. */
const FINAL_WRITE_ATTEMPTS = 3;
const FINAL_WRITE_RETRY_MS = 500;

/** The batch's last results could not be written: it is not ended, and resumes (rerunning those) at the next run. */
export class BatchProgressUnsavedError extends InfernetError {
  override readonly name = 'BatchProgressUnsavedError';
  constructor(batchId: string, results: number) {
    super('internal', `batch ${batchId}: ${results} result(s) could not be written to the store; the batch stays open and resumes`);
  }
}

interface LiveShard {
  record: ShardRecord;
  queued: number[];
  inFlight: Set<number>;
  dirty: boolean;
}

interface ProviderState {
  id: string;
  slots: number;
  lanes: number;
  listed: boolean;
  downUntil: number;
  /** Smoothed milliseconds per request on one slot. */
  latencyMs?: number;
}

export class BatchCoordinator {
  private readonly batchId: string;
  private readonly total: number;
  private readonly done = new Map<number, { failed: boolean }>();
  private readonly unwritten: BatchResult[] = [];
  private readonly shards: LiveShard[] = [];
  private readonly providers = new Map<string, ProviderState>();
  private readonly attempts = new Map<number, { request: number; provider: number; busy: number }>();
  private readonly stop = new AbortController();
  private readonly cancel = new AbortController();
  /** The node stops or the batch is cancelled: no new request starts, and those in flight are aborted. */
  private readonly halt: AbortSignal;
  private lastCancelCheck = Date.now();
  private readonly lanes = new Set<Promise<void>>();
  private nextShard = 0;
  private readonly runNonce = randomBytes(3).toString('hex');
  private flushing: Promise<void> = Promise.resolve();
  private lastProviderSeen = Date.now();

  constructor(private readonly options: BatchCoordinatorOptions) {
    this.batchId = options.batch.batchId;
    this.total = options.requests.length;
    options.signal?.addEventListener('abort', () => this.stop.abort(options.signal?.reason), { once: true });
    this.halt = AbortSignal.any([this.stop.signal, this.cancel.signal]);
  }

  /** Runs until every request has a result in the store, or the node stops. */
  async run(): Promise<BatchSummary> {
    const { store, logger } = this.options;
    await this.resume();
    // A cancel asked before this run (while it was queued, or before a restart) ends it without running anything.
    if (isCancelRequested(await store.getBatch(this.batchId))) return this.finishCancelled();
    await store.updateBatch(this.batchId, { state: 'running' });
    logger.info({ batchId: this.batchId, total: this.total, done: this.done.size }, 'batch running');
    const tick = this.options.tickMs ?? 200;
    while (!this.halt.aborted && this.done.size < this.total) {
      this.refreshProviders();
      this.placeUnassigned();
      this.failIfAbandoned();
      this.flush();
      await this.checkCancelled();
      await sleep(tick, this.halt);
    }
    await Promise.allSettled([...this.lanes]);
    await this.writeEverything();
    if (this.cancel.signal.aborted && !this.stop.signal.aborted) return this.finishCancelled();
    const counts = this.counts();
    if (this.done.size < this.total) {
      logger.info({ batchId: this.batchId, ...counts }, 'batch stopped; it resumes at the next start');
      return { batchId: this.batchId, state: 'stopped', ...counts };
    }
    for (const shard of this.shards) if (shard.record.state === 'running' || shard.record.state === 'pending') this.mark(shard, 'completed');
    await store.saveShards(this.dirtyShards());
    await store.updateBatch(this.batchId, { state: 'completed', ...counts, finishedAt: Date.now() });
    logger.info({ batchId: this.batchId, ...counts }, 'batch completed');
    return { batchId: this.batchId, state: 'completed', ...counts };
  }

  /** Asks the store at most every CANCEL_POLL_MS; a store that does not answer delays the cancel, never the batch. */
  private async checkCancelled(): Promise<void> {
    if (Date.now() - this.lastCancelCheck < CANCEL_POLL_MS) return;
    this.lastCancelCheck = Date.now();
    try {
      if (isCancelRequested(await this.options.store.getBatch(this.batchId))) this.cancel.abort('the batch was cancelled');
    } catch (error) {
      this.options.logger.warn({ batchId: this.batchId, err: (error as Error).message }, 'cannot read whether the batch was cancelled; asking again');
    }
  }

  private async finishCancelled(): Promise<BatchSummary> {
    await this.writeEverything();
    const { completed, failed, cancelled } = await finishCancelledBatch(this.options.store, this.options.batch, this.options.requests);
    this.options.logger.info({ batchId: this.batchId, completed, failed, cancelled }, 'batch cancelled');
    return { batchId: this.batchId, state: 'cancelled', completed, failed };
  }

  /** Every result and shard change in the store before the batch is ended, or BatchProgressUnsavedError. */
  private async writeEverything(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      this.flush();
      await this.flushing;
      if (!this.unwritten.length && !this.shards.some((shard) => shard.dirty)) return;
      if (attempt >= FINAL_WRITE_ATTEMPTS) throw new BatchProgressUnsavedError(this.batchId, this.unwritten.length);
      await sleep(FINAL_WRITE_RETRY_MS);
    }
  }

  /** Results already stored are done; shards a stopped run left open are closed, and what they held is planned again. */
  private async resume(): Promise<void> {
    const { store } = this.options;
    for (const result of await store.resultsOf(this.batchId)) {
      if (!this.done.has(result.index)) this.done.set(result.index, { failed: isErrorLine(result.line) });
    }
    const previous = await store.shardsOf(this.batchId);
    this.nextShard = previous.length;
    const reopened = previous.filter((shard) => shard.state === 'running' || shard.state === 'pending');
    const closed = reopened.map((shard) => ({ ...shard, state: 'failed' as const, reason: 'the batch runner restarted; its requests were planned again', updatedAt: Date.now() }));
    await store.saveShards(closed);
    const pending: number[] = [];
    for (let index = 0; index < this.total; index++) if (!this.done.has(index)) pending.push(index);
    if (pending.length) this.addShard('', pending, Math.max(0, ...reopened.map((shard) => shard.attempt + 1)));
  }

  private counts(): { completed: number; failed: number } {
    let failed = 0;
    for (const entry of this.done.values()) if (entry.failed) failed++;
    return { completed: this.done.size - failed, failed };
  }

  /** New providers get lanes; one back from a failure gets them again; one that left stops getting work. */
  private refreshProviders(): void {
    const listed = new Map(this.options.providers().map((provider) => [provider.id, provider]));
    if (listed.size) this.lastProviderSeen = Date.now();
    for (const state of this.providers.values()) state.listed = listed.has(state.id);
    for (const provider of listed.values()) {
      const state = this.providers.get(provider.id) ?? { id: provider.id, slots: provider.slots, lanes: 0, listed: true, downUntil: 0 };
      state.slots = provider.slots;
      this.providers.set(provider.id, state);
      if (state.downUntil > Date.now()) continue;
      while (state.lanes < state.slots) this.startLane(state);
    }
  }

  private live(): ProviderState[] {
    const now = Date.now();
    return [...this.providers.values()].filter((provider) => provider.listed && provider.downUntil <= now && provider.slots > 0);
  }

  private capacityOf(provider: ProviderState): ProviderCapacity {
    return { id: provider.id, freeSlots: provider.slots, ...(provider.latencyMs ? { requestsPerSecond: 1000 / provider.latencyMs } : {}) };
  }

  /** Requests no provider holds (the start, a failed shard's remainder) are planned over the live providers. */
  private placeUnassigned(): void {
    const live = this.live();
    if (!live.length) return;
    for (const shard of this.shards) {
      if (shard.record.provider || !shard.queued.length) continue;
      const plan = planShards(shard.queued, live.map((provider) => this.capacityOf(provider)));
      const attempt = shard.record.attempt;
      shard.queued = [];
      this.mark(shard, 'split', `planned over ${plan.length} provider(s)`);
      for (const part of plan) this.addShard(part.provider, part.indices, attempt);
    }
  }

  /** With no provider for too long, what is left gets error lines rather than waiting for ever. */
  private failIfAbandoned(): void {
    if (Date.now() - this.lastProviderSeen < (this.options.noProviderTimeoutMs ?? 60_000)) return;
    for (const shard of this.shards) {
      for (const index of shard.queued.splice(0)) this.record(index, errorLine(this.options.requests[index]!, `${this.batchId}-${index}`, { code: 'no_provider', message: `no provider of ${this.options.batch.model} was reachable` }), true);
      if (!shard.inFlight.size && shard.record.state === 'running') this.mark(shard, 'failed', 'no provider was reachable');
    }
  }

  private addShard(provider: string, indices: number[], attempt: number): LiveShard {
    const record: ShardRecord = { batchId: this.batchId, shardId: `s${this.nextShard++}`, indices: [...indices], provider, state: provider ? 'running' : 'pending', attempt, done: 0, reason: '', updatedAt: Date.now() };
    const shard: LiveShard = { record, queued: [...indices], inFlight: new Set(), dirty: true };
    this.shards.push(shard);
    return shard;
  }

  private mark(shard: LiveShard, state: ShardState, reason = shard.record.reason): void {
    shard.record = { ...shard.record, state, reason, updatedAt: Date.now() };
    shard.dirty = true;
  }

  private startLane(provider: ProviderState): void {
    provider.lanes++;
    const lane = this.runLane(provider).finally(() => {
      provider.lanes--;
      this.lanes.delete(lane);
    });
    this.lanes.add(lane);
  }

  /** One slot of one provider: its own queue first, then stolen work, until the batch is done or the provider fails. */
  private async runLane(provider: ProviderState): Promise<void> {
    while (!this.halt.aborted && this.done.size < this.total && provider.listed && provider.downUntil <= Date.now()) {
      const next = this.nextFor(provider);
      if (!next) {
        await sleep(this.options.tickMs ?? 200, this.halt);
        continue;
      }
      await this.runOne(provider, next.shard, next.index);
    }
  }

  private nextFor(provider: ProviderState): { shard: LiveShard; index: number } | undefined {
    const own = this.shards.find((shard) => shard.record.provider === provider.id && shard.record.state === 'running' && shard.queued.length);
    const shard = own ?? this.steal(provider);
    const index = shard?.queued.shift();
    return shard && index !== undefined ? { shard, index } : undefined;
  }

  /** Takes the tail of the queue that would finish last, as a new shard of this provider. */
  private steal(thief: ProviderState): LiveShard | undefined {
    const candidates = this.shards
      .filter((shard) => shard.record.state === 'running' && shard.queued.length)
      .map((shard) => {
        const owner = this.providers.get(shard.record.provider);
        return { shardId: shard.record.shardId, provider: shard.record.provider, queued: shard.queued, capacity: owner ? capacityPerSecond(this.capacityOf(owner), this.live().map((p) => this.capacityOf(p))) : 0 };
      });
    const decision = chooseSteal(candidates, capacityPerSecond(this.capacityOf(thief), this.live().map((p) => this.capacityOf(p))), thief.id);
    if (!decision) return undefined;
    const victim = this.shards.find((shard) => shard.record.shardId === decision.shardId)!;
    const taken = victim.queued.splice(victim.queued.length - decision.take, decision.take);
    victim.record = { ...victim.record, indices: victim.record.indices.filter((index) => !taken.includes(index)), reason: `${taken.length} request(s) taken by a faster provider`, updatedAt: Date.now() };
    victim.dirty = true;
    this.options.logger.debug({ batchId: this.batchId, from: victim.record.provider, to: thief.id, requests: taken.length }, 'work stolen');
    return this.addShard(thief.id, taken, victim.record.attempt);
  }

  private async runOne(provider: ProviderState, shard: LiveShard, index: number): Promise<void> {
    const request = this.options.requests[index]!;
    const tries = this.attempts.get(index) ?? { request: 0, provider: 0, busy: 0 };
    this.attempts.set(index, tries);
    // The run's nonce keeps job ids unique across restarts: stores refuse a job id they have seen.
    const jobId = `${this.batchId}-${index}-${this.runNonce}${tries.request + tries.provider + tries.busy}`;
    let spec: JobSpec;
    try {
      spec = this.withBatchTerms(specOfBatchRequest(request, jobId, this.options.batch.options.requestTimeoutMs));
    } catch (error) {
      return this.finishRequest(shard, index, errorLine(request, jobId, { code: 'invalid_request', message: (error as Error).message }), true);
    }
    shard.inFlight.add(index);
    const timeout = new AbortController();
    const timer = setTimeout(() => timeout.abort('deadline'), spec.deadline - Date.now() + DEADLINE_GRACE_MS);
    const onStop = () => timeout.abort('stopped');
    this.halt.addEventListener('abort', onStop, { once: true });
    const started = performance.now();
    try {
      const outcome = await this.options.runRequest(spec, provider.id, timeout.signal);
      const ms = performance.now() - started;
      provider.latencyMs = provider.latencyMs === undefined ? ms : provider.latencyMs * (1 - LATENCY_SMOOTHING) + ms * LATENCY_SMOOTHING;
      shard.inFlight.delete(index);
      this.finishRequest(shard, index, successLine(request, outcome), false);
    } catch (error) {
      shard.inFlight.delete(index);
      if (this.stop.signal.aborted) return void shard.queued.unshift(index);
      // Cancelled: the request gets its batch_cancelled line when the batch ends, never a retry.
      if (this.cancel.signal.aborted) return;
      const failure = failureOf(error, timeout.signal.aborted);
      await this.retryOrFail(provider, shard, index, jobId, failure);
    } finally {
      clearTimeout(timer);
      this.halt.removeEventListener('abort', onStop);
    }
  }

  /** The batch's price cap and verification policy hold for every request that sets none of its own. */
  private withBatchTerms(spec: JobSpec): JobSpec {
    const { priceCap, verification } = this.options.batch.options;
    return { ...spec, ...(priceCap && !spec.priceCap ? { priceCap } : {}), ...(verification && spec.verification.kind === 'none' ? { verification } : {}) };
  }

  private async retryOrFail(provider: ProviderState, shard: LiveShard, index: number, jobId: string, failure: BatchRequestFailure): Promise<void> {
    const tries = this.attempts.get(index)!;
    const request = this.options.requests[index]!;
    const stillListed = this.options.providers().some((listed) => listed.id === provider.id);
    if ((BUSY_FAILURES.has(failure.code) || (failure.code === 'no_provider' && stillListed)) && tries.busy < MAX_BUSY_WAITS) {
      tries.busy++;
      shard.queued.unshift(index);
      return sleep(BUSY_WAIT_MS, this.halt);
    }
    if (REQUEST_FAILURES.has(failure.code)) {
      if (++tries.request >= MAX_REQUEST_ATTEMPTS) return this.finishRequest(shard, index, errorLine(request, jobId, failure), true);
      this.addShard('', [index], shard.record.attempt + 1);
      return;
    }
    if (++tries.provider >= MAX_PROVIDER_ATTEMPTS) return this.finishRequest(shard, index, errorLine(request, jobId, failure), true);
    this.failShard(provider, shard, index, failure);
  }

  /** The provider failed a request: it gets no work for a while, and its shard's remainder goes to the others. */
  private failShard(provider: ProviderState, shard: LiveShard, index: number, failure: BatchRequestFailure): void {
    provider.downUntil = Date.now() + PROVIDER_COOLDOWN_MS;
    const remainder = [index];
    for (const other of this.shards) {
      if (other.record.provider !== provider.id || other.record.state !== 'running') continue;
      remainder.push(...other.queued.splice(0));
      if (!other.inFlight.size) this.mark(other, other === shard || other.record.done < other.record.indices.length ? 'failed' : 'completed', `${failure.code}: ${failure.message}`);
    }
    remainder.sort((a, b) => a - b);
    this.options.logger.warn({ batchId: this.batchId, provider: provider.id, code: failure.code, requests: remainder.length }, 'shard failed; its requests go to other providers');
    this.addShard('', remainder, shard.record.attempt + 1);
    this.placeUnassigned();
  }

  private finishRequest(shard: LiveShard, index: number, line: string, failed: boolean): void {
    this.record(index, line, failed);
    shard.record = { ...shard.record, done: shard.record.done + 1, updatedAt: Date.now() };
    shard.dirty = true;
    if (!shard.queued.length && !shard.inFlight.size && shard.record.state === 'running') this.mark(shard, 'completed');
  }

  /** The first result of a request counts; a late second one (a provider that answered after its timeout) does not. */
  private record(index: number, line: string, failed: boolean): void {
    if (this.done.has(index)) return;
    this.done.set(index, { failed });
    this.unwritten.push({ index, line });
  }

  private dirtyShards(): ShardRecord[] {
    const dirty = this.shards.filter((shard) => shard.dirty);
    for (const shard of dirty) shard.dirty = false;
    return dirty.map((shard) => shard.record);
  }

  /** Writes finished results, then the shards and counts; one write at a time, in order. */
  private flush(): void {
    const results = this.unwritten.splice(0);
    const shards = this.dirtyShards();
    if (!results.length && !shards.length) return;
    const counts = this.counts();
    this.flushing = this.flushing.then(async () => {
      try {
        for (let start = 0; start < results.length; start += RESULT_CHUNK) await this.options.store.appendResults(this.batchId, results.slice(start, start + RESULT_CHUNK));
        await this.options.store.saveShards(shards);
        await this.options.store.updateBatch(this.batchId, counts);
      } catch (error) {
        // Kept for the next flush: a result is never dropped because one write failed.
        this.unwritten.unshift(...results);
        for (const record of shards) {
          const shard = this.shards.find((live) => live.record.shardId === record.shardId);
          if (shard) shard.dirty = true;
        }
        this.options.logger.error({ batchId: this.batchId, err: (error as Error).message }, 'cannot write batch progress; retrying');
      }
    });
  }
}

function capacityPerSecond(provider: ProviderCapacity, all: readonly ProviderCapacity[]): number {
  const measured = all.map((other) => other.requestsPerSecond ?? 0).filter((speed) => speed > 0).sort((a, b) => a - b);
  const speed = provider.requestsPerSecond ?? (measured.length ? measured[Math.floor(measured.length / 2)]! : 1);
  return provider.freeSlots * speed;
}

function failureOf(error: unknown, timedOut: boolean): BatchRequestFailure {
  if (timedOut) return { code: 'deadline_exceeded', message: 'the provider did not answer before the request deadline' };
  if (error instanceof JobFailedError) return { code: error.reason, message: error.message };
  return { code: errorCodeOf(error), message: errorMessageOf(error) };
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });
}
