// Where a node keeps the outcome events it has accepted: its PocketBase (reputation_events) or, for a node on the
// file store, a JSON-lines file in its home. Appending is idempotent by event id.
import { appendFile, readFile } from 'node:fs/promises';
import type PocketBase from 'pocketbase';
import { COLLECTIONS, type ReputationEventRow, type RowBody } from '../storage/index.js';
import { OUTCOME_WEIGHTS } from './reputation-score.js';
import { verifyJobOutcomeEvent, type JobRating } from './reputation-event.js';

export type RatingSource = 'local' | 'relay' | 'gossip';

export interface StoredRating extends JobRating {
  via: RatingSource;
}

export interface ReputationLedger {
  append(rating: JobRating, via: RatingSource): Promise<void>;
  /** The newest `limit` ratings, newest first; each re-verified on the way in. */
  load(options?: { provider?: string; limit?: number }): Promise<StoredRating[]>;
}

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

  async load({ provider, limit = DEFAULT_LEDGER_LOAD_LIMIT }: { provider?: string; limit?: number } = {}): Promise<StoredRating[]> {
    const rows = await this.pb.collection(COLLECTIONS.reputationEvents).getList<ReputationEventRow>(1, limit, {
      sort: '-at,-@rowid',
      skipTotal: true,
      ...(provider ? { filter: this.pb.filter('provider = {:provider}', { provider }) } : {}),
    });
    return rows.items.flatMap((row) => storedRating(row.event, row.via));
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

  async load({ provider, limit = DEFAULT_LEDGER_LOAD_LIMIT }: { provider?: string; limit?: number } = {}): Promise<StoredRating[]> {
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
      .sort((a, b) => b.createdAt - a.createdAt)
      .slice(0, limit);
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
