// Reputation over time: each provider's running total of the signed deltas in reputation_events.
import type { ReputationEventRow } from './app-messages';

export interface ReputationSeries {
  provider: string;
  points: Array<{ at: number; score: number }>;
}

export function reputationSeries(events: readonly ReputationEventRow[], limit = 5): ReputationSeries[] {
  const byProvider = new Map<string, ReputationEventRow[]>();
  for (const event of events) byProvider.set(event.provider, [...(byProvider.get(event.provider) ?? []), event]);
  const series = [...byProvider.entries()].map(([provider, list]) => {
    let score = 0;
    const points = [...list].sort((a, b) => a.at - b.at).map((event) => ({ at: event.at, score: (score += event.delta) }));
    return { provider, points };
  });
  // The providers with the most history are the ones worth a line.
  return series.sort((a, b) => b.points.length - a.points.length).slice(0, limit);
}
