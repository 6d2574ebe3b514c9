// What `infernet net test` measures between this node and a peer, as plain data stored in the node home.

export interface LatencySummary {
  samples: number;
  minMs: number;
  meanMs: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
}

export interface ThroughputFigure {
  /** Payload bytes that crossed the link (acknowledged, for an upload; received, for a download). */
  bytes: number;
  /** Transfer time: from the first byte sent to the last received, one minimum round trip taken off the wall time. */
  ms: number;
  bitsPerSecond: number;
  /** Which bound ended the transfer. */
  limitedBy: 'bytes' | 'seconds';
}

export interface LinkMeasurement {
  /** Round trips of net.ping frames over the session. */
  latency: LatencySummary;
  /** This node to the peer. */
  upload: ThroughputFigure;
  /** The peer to this node. */
  download: ThroughputFigure;
  /** Payload characters per net.data frame, as agreed with the peer. */
  chunkBytes: number;
}

export interface NetTestResult extends LinkMeasurement {
  /** ISO time the test finished. */
  at: string;
  local: { pubkey: string; npub: string };
  peer: { url: string; pubkey: string; npub: string };
}

/** Nearest-rank percentile of an ascending list. */
export function percentile(sorted: readonly number[], p: number): number {
  if (!sorted.length) return NaN;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1]!;
}

export function summarizeLatency(samplesMs: readonly number[]): LatencySummary {
  const sorted = [...samplesMs].sort((a, b) => a - b);
  const round = (value: number) => Math.round(value * 1000) / 1000;
  return {
    samples: sorted.length,
    minMs: round(sorted[0] ?? NaN),
    meanMs: round(sorted.reduce((sum, value) => sum + value, 0) / sorted.length),
    p50Ms: round(percentile(sorted, 50)),
    p95Ms: round(percentile(sorted, 95)),
    p99Ms: round(percentile(sorted, 99)),
    maxMs: round(sorted.at(-1) ?? NaN),
  };
}

/**
 * Bytes over the time they took. A transfer's wall time includes one round trip (the request or the last ack
 * travelling back), which the smallest measured round trip takes off; never more than half the wall time.
 */
export function throughputOf(bytes: number, wallMs: number, minRttMs: number, limitedBy: ThroughputFigure['limitedBy']): ThroughputFigure {
  const ms = Math.max(wallMs - minRttMs, wallMs / 2, 0.001);
  return { bytes, ms: Math.round(ms * 1000) / 1000, bitsPerSecond: Math.round((bytes * 8) / (ms / 1000)), limitedBy };
}
