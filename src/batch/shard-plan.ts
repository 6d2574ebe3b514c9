// How a batch's pending requests are cut into shards: pure functions over plain data, so the rules are tested
// without providers. A provider's share follows its capacity (measured requests per second times free slots);
// a provider that runs out of work takes the tail of the shard that would otherwise finish last.

export interface ProviderCapacity {
  /** Hex public key. */
  id: string;
  /** Slots it can give the batch now. */
  freeSlots: number;
  /** Measured requests per second per slot; undefined until this batch has seen it finish one. */
  requestsPerSecond?: number;
}

export interface PlannedShard {
  provider: string;
  /** Input line indices, in input order. */
  indices: number[];
}

/**
 * Cuts `pending` (input order) into one contiguous shard per provider with free slots, each sized in proportion
 * to slots times measured speed. A provider not measured yet counts at the median of those that are (or 1).
 */
export function planShards(pending: readonly number[], providers: readonly ProviderCapacity[]): PlannedShard[] {
  const usable = providers.filter((provider) => provider.freeSlots > 0);
  if (!pending.length || !usable.length) return [];
  const weights = usable.map((provider) => provider.freeSlots * speedOf(provider, usable));
  const sizes = apportion(pending.length, weights);
  const shards: PlannedShard[] = [];
  let start = 0;
  usable.forEach((provider, index) => {
    const size = sizes[index]!;
    if (size > 0) shards.push({ provider: provider.id, indices: pending.slice(start, start + size) });
    start += size;
  });
  return shards;
}

/** Splits `total` into whole parts proportional to `weights` that add up to `total` (largest remainders). */
export function apportion(total: number, weights: readonly number[]): number[] {
  const sum = weights.reduce((a, b) => a + b, 0);
  if (sum <= 0) return weights.map((_, index) => (index === 0 ? total : 0));
  const exact = weights.map((weight) => (total * weight) / sum);
  const sizes = exact.map(Math.floor);
  let left = total - sizes.reduce((a, b) => a + b, 0);
  const byRemainder = exact.map((value, index) => ({ index, remainder: value - Math.floor(value) })).sort((a, b) => b.remainder - a.remainder || a.index - b.index);
  for (const { index } of byRemainder) {
    if (left-- <= 0) break;
    sizes[index]! += 1;
  }
  return sizes;
}

function speedOf(provider: ProviderCapacity, all: readonly ProviderCapacity[]): number {
  if (provider.requestsPerSecond && provider.requestsPerSecond > 0) return provider.requestsPerSecond;
  const measured = all.map((other) => other.requestsPerSecond ?? 0).filter((speed) => speed > 0).sort((a, b) => a - b);
  return measured.length ? measured[Math.floor(measured.length / 2)]! : 1;
}

/** What a shard still has to run, as the thief sees it. */
export interface StealCandidate {
  shardId: string;
  provider: string;
  /** Requests not started yet, in input order. */
  queued: readonly number[];
  /** Its provider's capacity: slots times measured speed (requests per second). */
  capacity: number;
}

export interface StealDecision {
  shardId: string;
  /** The tail of the victim's queue the thief takes. */
  take: number;
}

/**
 * Work stealing: the thief (capacity `thiefCapacity`) takes the tail of the queue that would finish last, as much
 * of it as makes both finish together. Undefined when no steal would finish the batch sooner.
 */
export function chooseSteal(candidates: readonly StealCandidate[], thiefCapacity: number, thief: string): StealDecision | undefined {
  const victims = candidates
    .filter((candidate) => candidate.provider !== thief && candidate.queued.length > 0)
    .map((candidate) => ({ candidate, finishesIn: candidate.queued.length / Math.max(candidate.capacity, 1e-9) }))
    .sort((a, b) => b.finishesIn - a.finishesIn || a.candidate.shardId.localeCompare(b.candidate.shardId));
  const victim = victims[0]?.candidate;
  if (!victim) return undefined;
  const n = victim.queued.length;
  const share = thiefCapacity / Math.max(thiefCapacity + victim.capacity, 1e-9);
  let take = Math.floor(n * share);
  // One request left: worth taking only from a slower provider that has not started it.
  if (take === 0 && n >= 1 && thiefCapacity > victim.capacity * 1.5) take = 1;
  return take > 0 ? { shardId: victim.shardId, take } : undefined;
}
