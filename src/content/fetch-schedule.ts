// Which holder gets which leaf, as pure logic: each holder keeps a window of requests outstanding sized to the rate
// it delivers (a slow link holds few blocks, a fast one up to the cap), so that work flows to holders in proportion to
// their speed; and at the end, when no leaf is left to hand out, an idle holder duplicates the leaf that the slowest
// holder would deliver last, so that one slow holder does not hold back the end of the file.

export interface WindowSettings {
  /** Bytes of a block (a leaf): the window counts blocks. */
  blockBytes: number;
  /** The most requests a holder may have outstanding (the fetch's windowPerPeer). */
  maxWindow: number;
  /** Requests a holder gets before its rate is known. */
  initialWindow: number;
  /** The fewest requests a holder with a known rate keeps outstanding, so its link never idles between answers. */
  minWindow: number;
  /** How long a block may wait in a holder's queue: the window holds this many milliseconds of its rate. */
  queueTargetMs: number;
}

/** How many requests a holder may have outstanding: queueTargetMs of its delivered rate, within [min, max]. */
export function windowFor(rateBytesPerSecond: number | undefined, settings: WindowSettings): number {
  const max = Math.max(1, settings.maxWindow);
  const min = Math.min(max, Math.max(1, settings.minWindow));
  if (rateBytesPerSecond === undefined) return Math.min(max, Math.max(min, settings.initialWindow));
  const blocks = Math.ceil((rateBytesPerSecond * settings.queueTargetMs) / 1000 / Math.max(1, settings.blockBytes));
  return Math.min(max, Math.max(min, blocks));
}

/**
 * A holder's delivered rate over the last spanMs: bytes of verified blocks per second. Samples are kept in a
 * ring of fixed size, so memory stays constant however long the fetch runs.
 */
export class RateMeter {
  private readonly times: number[] = [];
  private readonly sizes: number[] = [];
  private startedAt?: number;

  constructor(
    private readonly spanMs = 1_000,
    private readonly maxSamples = 64,
  ) {}

  /** The holder was given work at `now`: the rate counts from here, not from when the fetch began. */
  start(now: number): void {
    this.startedAt ??= now;
  }

  record(now: number, bytes: number): void {
    this.start(now);
    this.times.push(now);
    this.sizes.push(bytes);
    if (this.times.length > this.maxSamples) {
      this.times.shift();
      this.sizes.shift();
    }
  }

  /** Undefined until a block has arrived. */
  rate(now: number): number | undefined {
    if (!this.times.length || this.startedAt === undefined) return undefined;
    const from = now - this.spanMs;
    let bytes = 0;
    let oldest = now;
    for (let index = this.times.length - 1; index >= 0 && this.times[index]! > from; index--) {
      bytes += this.sizes[index]!;
      oldest = this.times[index]!;
    }
    // Over the span, or since the holder started when that is shorter (its first blocks), or, when the ring holds
    // less than the span, since the oldest sample kept.
    const windowStart = Math.max(from, this.startedAt, this.times.length === this.maxSamples ? oldest : -Infinity);
    const elapsedMs = Math.max(1, now - windowStart);
    return (bytes * 1000) / elapsedMs;
  }
}

export interface OutstandingRequest {
  leaf: number;
  holder: string;
  /** Requests ahead of this one at its holder, plus one: answers come in request order. */
  queuePosition: number;
  /** Holders this leaf is requested from now. */
  copies: number;
}

export interface DuplicateChoice {
  /** The holder with a free slot and nothing fresh to fetch. */
  holder: string;
  /** Its own requests outstanding. */
  holderInFlight: number;
  rates: ReadonlyMap<string, number | undefined>;
  blockBytes: number;
  /** A leaf is asked of at most this many holders at once. */
  maxCopies: number;
}

/**
 * The end game: the outstanding leaf the idle holder should ask for too, or undefined. It is the leaf whose current
 * holder is expected to deliver it last, taken only when the idle holder would deliver it sooner: a fast holder
 * takes over a slow one's tail; two equal holders do not duplicate each other's work.
 */
export function chooseDuplicate(outstanding: readonly OutstandingRequest[], choice: DuplicateChoice): number | undefined {
  const expectedMs = (holder: string, position: number): number => {
    const rate = choice.rates.get(holder);
    // A holder that has delivered nothing yet is expected never to: its leaves are the first to duplicate.
    return rate === undefined || rate <= 0 ? Number.POSITIVE_INFINITY : (position * choice.blockBytes * 1000) / rate;
  };
  const ownRate = choice.rates.get(choice.holder);
  // Before its own rate is known, a holder is trusted with a duplicate only of a leaf that nobody is delivering.
  const ownMs = ownRate === undefined || ownRate <= 0 ? Number.MAX_VALUE : expectedMs(choice.holder, choice.holderInFlight + 1);
  const mine = new Set(outstanding.filter((request) => request.holder === choice.holder).map((request) => request.leaf));
  let best: { leaf: number; ms: number } | undefined;
  for (const request of outstanding) {
    if (request.holder === choice.holder || mine.has(request.leaf) || request.copies >= choice.maxCopies) continue;
    const ms = expectedMs(request.holder, request.queuePosition);
    if (ms <= ownMs) continue;
    if (!best || ms > best.ms || (ms === best.ms && request.leaf < best.leaf)) best = { leaf: request.leaf, ms };
  }
  return best?.leaf;
}
