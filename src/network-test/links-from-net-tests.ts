// Stored network tests as the inputs of planning and ranking: pure functions over the results, newest wins.
import type { InterNodeLink } from '../planner/index.js';
import type { NetTestResult } from './net-test-result.js';

/**
 * One planner link per pair of nodes (named by hex public key unless `idOf` says otherwise), from the newest
 * test of that pair in either direction: bandwidth is the slower direction, latency half the median round trip
 * (the one-way delay a pipeline stage's activations see).
 */
export function interNodeLinksOf(results: readonly NetTestResult[], idOf: (pubkey: string) => string = (pubkey) => pubkey): InterNodeLink[] {
  const newest = new Map<string, NetTestResult>();
  for (const result of results) {
    const key = [result.local.pubkey, result.peer.pubkey].sort().join(':');
    const known = newest.get(key);
    if (!known || known.at <= result.at) newest.set(key, result);
  }
  return [...newest.values()].map((result) => ({
    between: [idOf(result.local.pubkey), idOf(result.peer.pubkey)] as const,
    bandwidthGbps: Math.min(result.upload.bitsPerSecond, result.download.bitsPerSecond) / 1e9,
    latencyMs: result.latency.p50Ms / 2,
  }));
}

/** The median ping round trip to each peer this node tested, by hex public key: provider ranking's latency input. */
export function latencyByPeer(results: readonly NetTestResult[]): Map<string, number> {
  const latest = new Map<string, { at: string; rtt: number }>();
  for (const result of results) {
    const known = latest.get(result.peer.pubkey);
    if (!known || known.at <= result.at) latest.set(result.peer.pubkey, { at: result.at, rtt: result.latency.p50Ms });
  }
  return new Map([...latest].map(([pubkey, { rtt }]) => [pubkey, rtt]));
}
