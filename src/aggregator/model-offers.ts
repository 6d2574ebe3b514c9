// The models the network serves, as an aggregator tells clients (models.list): each name once, with its file's size
// and sha256 where every provider serving that name reports the same ones. Providers report their own files, and
// two may serve different files (quantizations, versions) under one name, or one may lie: then the name is listed
// without them rather than with one provider's word.
import type { ModelOffer } from '../protocol/index.js';

/** One offer per model name, in the order first met; size and digest kept only where all who serve it agree. */
export function mergeModelOffers(offerLists: Iterable<readonly ModelOffer[]>): ModelOffer[] {
  const merged = new Map<string, ModelOffer>();
  for (const offers of offerLists) {
    for (const offer of offers) {
      const seen = merged.get(offer.name);
      if (!seen) merged.set(offer.name, { ...offer });
      else merged.set(offer.name, agreed(seen, offer));
    }
  }
  return [...merged.values()];
}

function agreed(a: ModelOffer, b: ModelOffer): ModelOffer {
  return {
    name: a.name,
    ...(a.sha256 !== undefined && a.sha256 === b.sha256 ? { sha256: a.sha256 } : {}),
    ...(a.sizeBytes !== undefined && a.sizeBytes === b.sizeBytes ? { sizeBytes: a.sizeBytes } : {}),
  };
}
