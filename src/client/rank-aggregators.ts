// Which aggregator a client sends its jobs to, when its config names none: pure, so the rule is table-tested.
// Aggregators that route the job's model come first; among them the best score of reputation (the aggregator's key),
// measured round trip and fee wins.
import { LATENCY_HALF_SCORE_MS, NEUTRAL_REPUTATION } from '../discovery/index.js';

export interface AggregatorCandidate {
  endpoint: string;
  /** Hex public key, from its record; unknown for a configured URL. */
  pubkey?: string;
  peerId?: string;
  /** Basis points; unknown for a configured URL. */
  feeBps?: number;
  /** Models its providers serve now, from its record. */
  models: readonly string[];
  /** Round trip of a libp2p ping, when one answered. */
  latencyMs?: number;
  /** In [0, 1] from src/reputation for its key; unknown is neutral. */
  reputation?: number;
  source: 'discovery' | 'config';
}

export interface AggregatorScores {
  reputation: number;
  latency: number;
  fee: number;
}

export type RankedAggregator<C extends AggregatorCandidate = AggregatorCandidate> = C & { score: number; scores: AggregatorScores; routesModel: boolean };

/** Reputation counts most: an aggregator sees every job's routing and payment, so trust comes before speed. */
export const AGGREGATOR_RANKING_WEIGHTS = { reputation: 0.5, latency: 0.3, fee: 0.2 } as const;
/** The highest fee a record may state (AggregatorRecord.feeBps): it scores 0. */
const MAX_FEE_BPS = 5000;
/** An unmeasured round trip scores as this: below any aggregator that answered within a second. */
const UNMEASURED_LATENCY_SCORE = 0.1;

export function scoreAggregator(candidate: AggregatorCandidate): AggregatorScores {
  return {
    reputation: clamp01(candidate.reputation ?? NEUTRAL_REPUTATION),
    latency: candidate.latencyMs === undefined ? UNMEASURED_LATENCY_SCORE : LATENCY_HALF_SCORE_MS / (LATENCY_HALF_SCORE_MS + Math.max(0, candidate.latencyMs)),
    fee: candidate.feeBps === undefined ? 0.5 : 1 - Math.min(MAX_FEE_BPS, Math.max(0, candidate.feeBps)) / MAX_FEE_BPS,
  };
}

/**
 * Best first: those routing `model` (when given) before those that do not (they may still find a provider on
 * demand), then by score, then by endpoint for a stable order. Nothing is left out: the tail is the failover list.
 */
export function rankAggregators<C extends AggregatorCandidate>(candidates: readonly C[], need: { model?: string } = {}): RankedAggregator<C>[] {
  return candidates
    .map((candidate) => {
      const scores = scoreAggregator(candidate);
      const score = AGGREGATOR_RANKING_WEIGHTS.reputation * scores.reputation + AGGREGATOR_RANKING_WEIGHTS.latency * scores.latency + AGGREGATOR_RANKING_WEIGHTS.fee * scores.fee;
      return { ...candidate, scores, score, routesModel: need.model === undefined || candidate.models.includes(need.model) };
    })
    .sort((a, b) => Number(b.routesModel) - Number(a.routesModel) || b.score - a.score || a.endpoint.localeCompare(b.endpoint));
}

function clamp01(value: number): number {
  return Math.min(1, Math.max(0, value));
}
