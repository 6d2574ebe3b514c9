// The job event feed: what follows from a job's life (payments, phone pushes, metrics) reads the events the job
// store persisted, each reader from its own place in them, instead of wrapping the store. A reader with a
// persisted cursor goes on after a crash from the first event it had not handled, so an effect that was due when
// the process died is carried out at the next start; a live reader (metrics, whose state is in memory) starts at
// the feed's end. The store's write announcements wake the readers at once; a poll finds events that other
// processes sharing the store wrote. Readers woken together at one place share one read of the store (an aggregator
// has four readers: four reads per transition before), and a persisted reader writes its cursor when it handled an
// event, or after CURSOR_LAG events it did not want, not after every page.
import type { JobRecord, SequencedJobEvent } from './job-record.js';
import type { JobStore } from './job-store.js';
import type { Logger } from '../log/index.js';
import { InfernetError } from '../errors/index.js';

/** Where each persisted reader is in the feed. */
export interface JobFeedCursors {
  read(reader: string): Promise<number | undefined>;
  write(reader: string, seq: number): Promise<void>;
}

export interface JobFeedReader {
  /** Stable and unique on a node: the persisted cursor's name. */
  readonly name: string;
  /**
   * persisted: resumes after the last event handled, across restarts (a reader new to the node starts at the
   * feed's end: what came before it was not its to do); live: starts at the feed's end each time.
   */
  readonly start: 'persisted' | 'live';
  /** The events this reader acts on. */
  wants(event: SequencedJobEvent): boolean;
  /** Whether handle() needs the job's record for this event (one read of the store each); true when left out. */
  needsJob?(event: SequencedJobEvent): boolean;
  /**
   * Acts on one event, given the job's record as it is now (it may have moved on since the event; undefined when
   * not needed, or when the job is gone). A persisted
   * reader must be idempotent: an event whose handling a crash interrupted is handled again. A reader that must
   * retry a failed effect keeps its own durable retry (settlement retries from its ledger); a thrown error is
   * logged and the feed goes on.
   */
  handle(event: SequencedJobEvent, job: JobRecord | undefined): Promise<void> | void;
}

export interface JobEventFeedOptions {
  store: JobStore;
  cursors: JobFeedCursors;
  logger: Logger;
  /** How often the readers look for events written by other processes. */
  pollMs?: number;
  /** Events read per request. */
  pageSize?: number;
}

export class JobFeedStartedError extends InfernetError {
  override readonly name = 'JobFeedStartedError';
  constructor(reader: string) {
    super('internal', `job event feed reader ${reader} was added after the feed started`);
  }
}

const DEFAULT_POLL_MS = 5_000;
const DEFAULT_PAGE_SIZE = 200;
/** Pages one pass reads before it yields to a new pass (a long backlog never holds the event loop in one pass). */
const PAGES_PER_PASS = 10;
/** Passes caughtUp() waits through before giving up on a reader that cannot advance (its store unreachable). */
const CATCH_UP_PASSES = 100;
/**
 * Events a persisted reader may pass over without writing its cursor: after a restart it reads them again and
 * skips them again (it did not want them), so at most this many are read twice.
 */
export const CURSOR_LAG = 1_000;

export class JobEventFeed {
  private readonly followers: FeedFollower[] = [];
  private readonly reads: SharedFeedReads;
  private started = false;
  private poll?: NodeJS.Timeout;
  private unsubscribe?: () => void;

  constructor(private readonly options: JobEventFeedOptions) {
    this.reads = new SharedFeedReads(options.store);
  }

  follow(reader: JobFeedReader): void {
    if (this.started) throw new JobFeedStartedError(reader.name);
    this.followers.push(new FeedFollower(reader, this.options, this.reads));
  }

  /** Places each reader (its persisted cursor, or the feed's end) and starts following. */
  async start(): Promise<void> {
    if (this.started) return;
    this.started = true;
    await Promise.all(this.followers.map((follower) => follower.place()));
    this.unsubscribe = this.options.store.onEventWritten(() => this.wake());
    this.poll = setInterval(() => void this.wakeBehind(), this.options.pollMs ?? DEFAULT_POLL_MS);
    this.poll.unref();
    this.wake();
  }

  /** Resolves once every reader has handled every event written before the call (metrics before a scrape, tests). */
  async caughtUp(): Promise<void> {
    if (!this.started) return;
    const end = await this.options.store.lastEventSeq();
    await Promise.all(this.followers.map((follower) => follower.reach(end)));
  }

  /** Stops following; waits for the events being handled (a persisted reader resumes after them at the next start). */
  async close(): Promise<void> {
    clearInterval(this.poll);
    this.unsubscribe?.();
    await Promise.all(this.followers.map((follower) => follower.close()));
  }

  private wake(): void {
    this.reads.newWrites();
    for (const follower of this.followers) follower.wake();
  }

  /** The poll: one read of the feed's end, and only the readers behind it read their events. */
  private async wakeBehind(): Promise<void> {
    const end = await this.options.store.lastEventSeq().catch(() => Infinity); // unreadable: let each reader try and log
    this.reads.newWrites();
    for (const follower of this.followers) if (follower.isBehind(end)) follower.wake();
  }
}

/**
 * One read of the feed for the readers woken together. A read may serve a reader only if it began after that
 * reader's wake (else it could miss the write that woke it): every wake first forgets the reads begun before it, so
 * the one kept always qualifies. It serves from the reader's place or before it, and only if it reached the feed's
 * end (a full page from an earlier place would end before the reader's own page would).
 */
export class SharedFeedReads {
  private latest?: { after: number; limit: number; events: Promise<readonly SequencedJobEvent[]> };

  constructor(private readonly store: JobStore) {}

  /** Something may have been written since: the reads begun before now serve no pass begun after. */
  newWrites(): void {
    this.latest = undefined;
  }

  async read(after: number, limit: number): Promise<readonly SequencedJobEvent[]> {
    const shared = this.latest;
    if (shared && shared.after <= after && shared.limit === limit) {
      const events = await shared.events.catch(() => undefined);
      if (events && events.length < limit) return events.filter((event) => event.seq > after);
    }
    const events = this.store.eventsAfter(after, limit);
    this.latest = { after, limit, events };
    return events;
  }
}

/** One reader's place in the feed and the loop that moves it: one pass at a time, woken again if asked meanwhile. */
class FeedFollower {
  private cursor = 0;
  /** The cursor as last written (persisted readers). */
  private written = 0;
  private running?: Promise<void>;
  private again = false;
  private closed = false;
  private readonly logger: Logger;

  constructor(
    private readonly reader: JobFeedReader,
    private readonly options: JobEventFeedOptions,
    private readonly reads: SharedFeedReads,
  ) {
    this.logger = options.logger.child({ component: 'job-feed', reader: reader.name });
  }

  async place(): Promise<void> {
    const { cursors, store } = this.options;
    const saved = this.reader.start === 'persisted' ? await cursors.read(this.reader.name) : undefined;
    this.cursor = saved ?? (await store.lastEventSeq());
    this.written = this.cursor;
    if (this.reader.start === 'persisted' && saved === undefined) await cursors.write(this.reader.name, this.cursor);
  }

  wake(): void {
    if (this.closed) return;
    if (this.running) {
      this.again = true;
      return;
    }
    this.running = this.pass()
      .catch((error: Error) => this.logger.warn({ err: error.message, name: error.name, after: this.cursor }, 'cannot read the job event feed; trying again at the next poll'))
      .finally(() => {
        this.running = undefined;
        if (this.again) {
          this.again = false;
          this.wake();
        }
      });
  }

  isBehind(seq: number): boolean {
    return this.cursor < seq;
  }

  async reach(seq: number): Promise<void> {
    for (let pass = 0; pass < CATCH_UP_PASSES && this.cursor < seq && !this.closed; pass++) {
      this.wake();
      await this.running;
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.running;
  }

  private async pass(): Promise<void> {
    const pageSize = this.options.pageSize ?? DEFAULT_PAGE_SIZE;
    for (let page = 0; page < PAGES_PER_PASS; page++) {
      const events = await this.reads.read(this.cursor, pageSize);
      const { handledTo, acted } = await this.handlePage(events);
      if (handledTo > this.cursor) {
        this.cursor = handledTo;
        await this.saveCursor(acted);
      }
      if (this.closed || events.length < pageSize) return;
    }
    this.again = true; // more to read: a fresh pass goes on after the events that woke others meanwhile
  }

  /** After an event handled, or CURSOR_LAG events passed over: a restart then redoes nothing it did. */
  private async saveCursor(acted: boolean): Promise<void> {
    if (this.reader.start !== 'persisted' || (!acted && this.cursor - this.written < CURSOR_LAG)) return;
    await this.options.cursors.write(this.reader.name, this.cursor);
    this.written = this.cursor;
  }

  /** Handles a page in order; returns the seq of the last event read (the cursor's new place) and whether any was wanted. */
  private async handlePage(events: readonly SequencedJobEvent[]): Promise<{ handledTo: number; acted: boolean }> {
    let handledTo = this.cursor;
    let acted = false;
    for (const event of events) {
      if (this.closed) break;
      if (this.reader.wants(event)) {
        acted = true;
        // A job that cannot be read stops the page here (thrown): the event is handled again at the next pass.
        const job = (this.reader.needsJob?.(event) ?? true) ? await this.options.store.get(event.jobId, event.role) : undefined;
        try {
          await this.reader.handle(event, job);
        } catch (error) {
          this.logger.error({ err: (error as Error).message, name: (error as Error).name, jobId: event.jobId, role: event.role, to: event.to, seq: event.seq }, 'a job event feed reader failed on an event; going on');
        }
      }
      handledTo = event.seq;
    }
    return { handledTo, acted };
  }
}
