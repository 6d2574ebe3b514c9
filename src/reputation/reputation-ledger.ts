// Where a node keeps the outcome events it has accepted: its PocketBase (reputation_events) or, for a node on the
// file store, a JSON-lines file in its home. Appending is idempotent by event id.
import { appendFile, readFile, rename, writeFile } from 'node:fs/promises';
import type PocketBase from 'pocketbase';
import { COLLECTIONS, type ReputationEventRow, type RowBody } from '../storage/index.js';
import { OUTCOME_WEIGHTS } from './reputation-score.js';
import { verifyJobOutcomeEvent, type JobRating } from './reputation-event.js';

export type RatingSource = 'local' | 'relay' | 'gossip';

export interface StoredRating extends JobRating {
  via: RatingSource;
}

export interface LoadRatingsOptions {
  provider?: string;
  limit?: number;
  /** Raters whose ratings come first, whatever their age (this node and its trusted raters); then the newest. */
  preferRaters?: readonly string[];
}

export interface ReputationLedger {
  append(rating: JobRating, via: RatingSource): Promise<void>;
  /** At most `limit` ratings: the preferred raters' first, newest first, then the others' newest first; each re-verified on the way in. */
  load(options?: LoadRatingsOptions): Promise<StoredRating[]>;
  /** Drops ratings the service evicted, so the store stays as bounded as memory. Unknown ids are ignored. */
  remove(eventIds: readonly string[]): Promise<void>;
}

/** Event ids per PocketBase filter when removing: a filter is a URL parameter, and ids are 64 characters. */
const REMOVE_BATCH = 40;

export const DEFAULT_LEDGER_LOAD_LIMIT = 50_000;

export class PocketBaseReputationLedger implements ReputationLedger {
  constructor(private readonly pb: PocketBase) {}

  async append(rating: JobRating, via: RatingSource): Promise<void> {
    const weights = OUTCOME_WEIGHTS[rating.outcome];
    const row: RowBody<ReputationEventRow> = {
      provider: rating.provider,
      jobId: rating.jobId,
      kind: rating.outcome,
      delta: weights.positive - weights.negative,
      reason: rating.reason,
      signedBy: rating.rater,
      at: rating.createdAt,
      eventId: rating.eventId,
      event: rating.event,
      value: rating.value,
      currency: rating.currency,
      policy: rating.policy,
      model: rating.model,
      via,
    };
    try {
      await this.pb.collection(COLLECTIONS.reputationEvents).create(row);
    } catch (error) {
      // The unique index on eventId: heard before (from the relay and from gossip).
      if ((error as { status?: number }).status === 400 && (await this.has(rating.eventId))) return;
      throw error;
    }
  }

  async load({ provider, limit = DEFAULT_LEDGER_LOAD_LIMIT, preferRaters = [] }: LoadRatingsOptions = {}): Promise<StoredRating[]> {
    const byProvider = provider ? this.pb.filter('provider = {:provider}', { provider }) : '';
    const raters = preferRaters.map((rater, index) => this.pb.filter(`signedBy = {:r${index}}`, { [`r${index}`]: rater }));
    const preferred = raters.length ? `(${raters.join(' || ')})` : '';
    const others = raters.length ? `(${raters.map((filter) => filter.replace('signedBy =', 'signedBy !=')).join(' && ')})` : '';
    const query = async (filter: string, count: number): Promise<ReputationEventRow[]> =>
      count <= 0 ? [] : (await this.pb.collection(COLLECTIONS.reputationEvents).getList<ReputationEventRow>(1, count, { sort: '-at,-@rowid', skipTotal: true, ...(filter ? { filter } : {}) })).items;
    const first = preferred ? await query([byProvider, preferred].filter(Boolean).join(' && '), limit) : [];
    const rest = await query([byProvider, others].filter(Boolean).join(' && '), limit - first.length);
    return [...first, ...rest].flatMap((row) => storedRating(row.event, row.via));
  }

  async remove(eventIds: readonly string[]): Promise<void> {
    const collection = this.pb.collection(COLLECTIONS.reputationEvents);
    for (let start = 0; start < eventIds.length; start += REMOVE_BATCH) {
      const ids = eventIds.slice(start, start + REMOVE_BATCH);
      const filter = ids.map((eventId, index) => this.pb.filter(`eventId = {:e${index}}`, { [`e${index}`]: eventId })).join(' || ');
      const rows = await collection.getList(1, ids.length, { filter, skipTotal: true, fields: 'id' });
      for (const row of rows.items) await collection.delete(row.id).catch((error: { status?: number }) => (error.status === 404 ? undefined : Promise.reject(error)));
    }
  }

  private async has(eventId: string): Promise<boolean> {
    const found = await this.pb.collection(COLLECTIONS.reputationEvents).getList(1, 1, { filter: this.pb.filter('eventId = {:eventId}', { eventId }), skipTotal: true });
    return found.items.length > 0;
  }
}

export class FileReputationLedger implements ReputationLedger {
  private readonly known = new Set<string>();
  private loaded = false;

  constructor(private readonly path: string) {}

  async append(rating: JobRating, via: RatingSource): Promise<void> {
    if (!this.loaded) await this.load();
    if (this.known.has(rating.eventId)) return;
    this.known.add(rating.eventId);
    await appendFile(this.path, JSON.stringify({ via, event: rating.event }) + '\n', { mode: 0o600 });
  }

  async load({ provider, limit = DEFAULT_LEDGER_LOAD_LIMIT, preferRaters = [] }: LoadRatingsOptions = {}): Promise<StoredRating[]> {
    const preferred = new Set(preferRaters);
    const text = await readFile(this.path, 'utf8').catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? '' : Promise.reject(error)));
    // A line cut short by a crash is skipped, the rest kept.
    const ratings = text.split('\n').flatMap((line) => {
      if (!line.trim()) return [];
      try {
        const { via, event } = JSON.parse(line) as { via: string; event: unknown };
        return storedRating(event, via);
      } catch {
        return [];
      }
    });
    for (const rating of ratings) this.known.add(rating.eventId);
    this.loaded = true;
    return ratings
      .filter((rating) => !provider || rating.provider === provider)
      .sort((a, b) => Number(preferred.has(b.rater)) - Number(preferred.has(a.rater)) || b.createdAt - a.createdAt)
      .slice(0, limit);
  }

  /** Rewrites the file without those events (write then rename: a crash leaves the old file or the new one). */
  async remove(eventIds: readonly string[]): Promise<void> {
    const dropped = new Set(eventIds);
    const text = await readFile(this.path, 'utf8').catch((error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? '' : Promise.reject(error)));
    const kept = text.split('\n').filter((line) => {
      if (!line.trim()) return false;
      try {
        return !dropped.has((JSON.parse(line) as { event?: { id?: string } }).event?.id ?? '');
      } catch {
        return false;
      }
    });
    const temporary = `${this.path}.${process.pid}.tmp`;
    await writeFile(temporary, kept.map((line) => line + '\n').join(''), { mode: 0o600 });
    await rename(temporary, this.path);
    for (const eventId of dropped) this.known.delete(eventId);
  }
}

function storedRating(event: unknown, via: string): StoredRating[] {
  try {
    // Far-future dates are judged against the distant future: a stored event was checked when it arrived.
    return [{ ...verifyJobOutcomeEvent(event, Number.MAX_SAFE_INTEGER), via: via === 'relay' || via === 'gossip' ? via : 'local' }];
  } catch {
    return [];
  }
}
