// Which providers a lookup returns, best first: a pure function of the candidates and the need, so the rule can
// be read and tested as a table. Providers that cannot hold the model or have no free slot are left out; the
// rest are scored on fit, reputation, load, price and measured latency, each in [0, 1].
import type { Price } from '../protocol/index.js';
import { largestGpuVramBytes, summaryVramBytes } from './hardware-summary.js';
import { servesModel, type ProviderLoad, type ProviderRecord } from './provider-record.js';

export interface RankingCandidate {
  record: Pick<ProviderRecord, 'peerId' | 'models' | 'hardware' | 'price'>;
  /** The latest load: from the newest heartbeat, else from the record. */
  load: ProviderLoad;
  /** In [0, 1]; NEUTRAL_REPUTATION when nothing is known. */
  reputation?: number;
  /** Ping round trip; undefined when not measured. */
  latencyMs?: number;
}

export interface ProviderNeed {
  model: string;
  sha256?: string;
  /** Memory the model needs to run (weights, KV cache, buffers); 0 when unknown. */
  memoryBytes?: number;
}

/** Where the model would sit on that provider. */
export type Placement = 'single-gpu' | 'multi-gpu' | 'system-memory';

export interface RankingScores {
  fit: number;
  reputation: number;
  load: number;
  price: number;
  latency: number;
}

export type RankedCandidate<C extends RankingCandidate> = C & { score: number; scores: RankingScores; placement: Placement };

export const RANKING_WEIGHTS: RankingScores = { fit: 0.25, reputation: 0.25, load: 0.2, price: 0.15, latency: 0.15 };
export const NEUTRAL_REPUTATION = 0.5;
/** A round trip of this many milliseconds halves the latency score. */
export const LATENCY_HALF_SCORE_MS = 100;

const FIT_SCORES: Record<Placement, number> = {
  'single-gpu': 1,
  // Split across GPUs: every token crosses the interconnect; NVLink keeps most of the speed.
  'multi-gpu': 0.7,
  'system-memory': 0.3,
};
const NVLINK_BONUS = 0.15;

export function rankProviderRecords<C extends RankingCandidate>(candidates: readonly C[], need: ProviderNeed, weights: RankingScores = RANKING_WEIGHTS): RankedCandidate<C>[] {
  const eligible = candidates.flatMap((candidate) => {
    if (!servesModel(candidate.record, need.model, need.sha256)) return [];
    if (freeSlots(candidate.load) <= 0) return [];
    const placement = placementOf(candidate.record.hardware, need.memoryBytes ?? 0);
    return placement ? [{ candidate, placement }] : [];
  });
  const cheapest = cheapestByUnit(eligible.map(({ candidate }) => candidate.record.price));
  return eligible
    .map(({ candidate, placement }) => {
      const scores: RankingScores = {
        fit: fitScore(candidate.record.hardware, placement),
        reputation: clamp01(candidate.reputation ?? NEUTRAL_REPUTATION),
        load: freeSlots(candidate.load) / candidate.load.slots,
        price: priceScore(candidate.record.price, cheapest),
        latency: latencyScore(candidate.latencyMs),
      };
      const score = (Object.keys(weights) as (keyof RankingScores)[]).reduce((sum, name) => sum + weights[name] * scores[name], 0);
      return { ...candidate, score, scores, placement };
    })
    .sort((a, b) => b.score - a.score || a.record.peerId.localeCompare(b.record.peerId));
}

/** The best place the need fits, or undefined when it fits nowhere on that machine. */
export function placementOf(hardware: ProviderRecord['hardware'], memoryBytes: number): Placement | undefined {
  if (hardware.gpus.length > 0) {
    if (memoryBytes <= largestGpuVramBytes(hardware)) return 'single-gpu';
    if (memoryBytes <= summaryVramBytes(hardware)) return 'multi-gpu';
  }
  return memoryBytes <= hardware.memoryBytes ? 'system-memory' : undefined;
}

function fitScore(hardware: ProviderRecord['hardware'], placement: Placement): number {
  const bonus = placement === 'multi-gpu' && hardware.interconnect.nvlinkAllPairs ? NVLINK_BONUS : 0;
  return FIT_SCORES[placement] + bonus;
}

function freeSlots(load: ProviderLoad): number {
  return load.slots - load.activeJobs;
}

export function latencyScore(latencyMs: number | undefined): number {
  if (latencyMs === undefined) return 0.5;
  return 1 / (1 + Math.max(0, latencyMs) / LATENCY_HALF_SCORE_MS);
}

const unitOf = (price: Price): string => `${price.currency}/${price.per}`;

function cheapestByUnit(prices: readonly (Price | undefined)[]): Map<string, number> {
  const cheapest = new Map<string, number>();
  for (const price of prices) {
    if (!price) continue;
    const amount = Number(price.amount);
    cheapest.set(unitOf(price), Math.min(amount, cheapest.get(unitOf(price)) ?? Infinity));
  }
  return cheapest;
}

/** Free scores 1; otherwise the cheapest price in the same currency and unit divided by this one. */
function priceScore(price: Price | undefined, cheapest: Map<string, number>): number {
  if (!price) return 1;
  const amount = Number(price.amount);
  if (amount === 0) return 1;
  return (cheapest.get(unitOf(price)) ?? amount) / amount;
}

function clamp01(value: number): number {
  return Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : NEUTRAL_REPUTATION;
}
