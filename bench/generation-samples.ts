// One timed generation as the benchmarks record it, and the medians they report.

export interface Sample {
  tokens: number;
  firstTokenMs: number;
  lastTokenMs: number;
  totalMs: number;
}

export const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
export const firstToken = (samples: Sample[]) => median(samples.map((s) => s.firstTokenMs));
/** Whole job, request to last token. */
export const endToEndRate = (samples: Sample[]) => median(samples.map((s) => (s.tokens / s.totalMs) * 1000));
/** Generation speed once tokens flow: tokens after the first over the time from first to last. */
export const decodeRate = (samples: Sample[]) => median(samples.map((s) => ((s.tokens - 1) / (s.lastTokenMs - s.firstTokenMs)) * 1000));
