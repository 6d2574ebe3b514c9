// Which providers a head asks for RPC stages, best first: a pure function of what their records offer. Offers
// closed to this head are left out, as are those with less memory than a stage needs; the rest are scored on
// reputation, measured latency (every token crosses each stage's link once in a pipeline) and memory (a bigger
// stage takes a bigger share of the layers, so fewer stages are needed).
import { latencyScore, NEUTRAL_REPUTATION } from './rank-provider-records.js';
import { offersStagesTo, type ProviderRecord, type StageOffer } from './provider-record.js';

export interface StageCandidate {
  record: Pick<ProviderRecord, 'peerId' | 'pubkey' | 'stages'>;
  /** In [0, 1]; NEUTRAL_REPUTATION when nothing is known. */
  reputation?: number;
  latencyMs?: number;
}

export interface StageNeed {
  /** The head's hex public key: offers that list other heads only are left out. */
  head: string;
  /** Memory one stage must offer at least; 0 when any will do. */
  minMemoryBytes?: number;
}

export const STAGE_RANKING_WEIGHTS = { reputation: 0.4, latency: 0.4, memory: 0.2 } as const;

export type RankedStageCandidate<C extends StageCandidate> = C & { offer: StageOffer; score: number };

export function rankStageOffers<C extends StageCandidate>(candidates: readonly C[], need: StageNeed): RankedStageCandidate<C>[] {
  const eligible = candidates.flatMap((candidate) => {
    const offer = candidate.record.stages;
    if (!offer || !offersStagesTo(candidate.record, need.head) || candidate.record.pubkey === need.head) return [];
    return offer.memoryBytes >= (need.minMemoryBytes ?? 0) ? [{ candidate, offer }] : [];
  });
  const largest = Math.max(1, ...eligible.map(({ offer }) => offer.memoryBytes));
  return eligible
    .map(({ candidate, offer }) => {
      const reputation = Number.isFinite(candidate.reputation) ? Math.min(1, Math.max(0, candidate.reputation!)) : NEUTRAL_REPUTATION;
      const score = STAGE_RANKING_WEIGHTS.reputation * reputation + STAGE_RANKING_WEIGHTS.latency * latencyScore(candidate.latencyMs) + STAGE_RANKING_WEIGHTS.memory * (offer.memoryBytes / largest);
      return { ...candidate, offer, score };
    })
    .sort((a, b) => b.score - a.score || a.record.peerId.localeCompare(b.record.peerId));
}
