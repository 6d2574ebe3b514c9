// Cuts a model's layers into contiguous ranges in proportion to each stage's weight, every stage getting at
// least one layer. Largest remainders keep every count within one layer of its exact share.

import { InvalidPlanOptionsError } from './planner-errors.js';

export type LayerRange = readonly [start: number, end: number];

export function splitLayers(layers: number, weights: readonly number[]): LayerRange[] {
  if (layers < weights.length) throw new InvalidPlanOptionsError(`${layers} layers cannot fill ${weights.length} stages`);
  const total = weights.reduce((sum, w) => sum + w, 0);
  const quotas = weights.map((w) => (total > 0 ? (layers * w) / total : layers / weights.length));
  const counts = quotas.map((q) => Math.max(1, Math.floor(q)));
  let assigned = counts.reduce((sum, c) => sum + c, 0);
  for (; assigned < layers; assigned++) adjust(counts, pick(quotas, counts, 'most-short'), +1);
  for (; assigned > layers; assigned--) adjust(counts, pick(quotas, counts, 'most-over'), -1);
  let start = 0;
  return counts.map((count) => {
    const range: LayerRange = [start, start + count];
    start += count;
    return range;
  });
}

function adjust(counts: number[], index: number, by: number): void {
  counts[index] = (counts[index] ?? 0) + by;
}

// The stage furthest below its quota gains a layer; the one furthest above (keeping at least one) loses one.
function pick(quotas: readonly number[], counts: readonly number[], which: 'most-short' | 'most-over'): number {
  let best = -1;
  let bestGap = -Infinity;
  counts.forEach((count, i) => {
    const gap = which === 'most-short' ? (quotas[i] ?? 0) - count : count - (quotas[i] ?? 0);
    if ((which === 'most-short' || count > 1) && gap > bestGap) [best, bestGap] = [i, gap];
  });
  return best;
}
