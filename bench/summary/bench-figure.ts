// A benchmark's headline figures, written for the run's summary: each benchmark runs in its own process, so the
// figures travel as JSON lines appended to the file INFERNET_BENCH_FIGURES names (set by scripts/bench.sh). Run on
// its own, a benchmark only prints its tables.
import { appendFileSync } from 'node:fs';
import { basename } from 'node:path';

export interface BenchTarget {
  atLeast?: number;
  atMost?: number;
}

export interface BenchFigure {
  /** The benchmark's file name, without extension. */
  bench: string;
  name: string;
  value: number;
  unit: 'ratio' | 'ms' | 'x';
  target?: BenchTarget;
  /** Why a target does not apply here, or what bounds the figure on this machine. */
  note?: string;
}

/** Records one figure; `bench` defaults to the running script's name. */
export function reportFigure(figure: Omit<BenchFigure, 'bench'> & { bench?: string }): void {
  const path = process.env.INFERNET_BENCH_FIGURES;
  if (!path) return;
  const bench = figure.bench ?? basename(process.argv[1] ?? 'bench').replace(/\.[cm]?js$/, '');
  appendFileSync(path, `${JSON.stringify({ ...figure, bench })}\n`);
}

/** 'met', 'not met', or '' when the figure has no target. */
export function targetStatus(figure: BenchFigure): '' | 'met' | 'not met' {
  const { target, value } = figure;
  if (!target) return '';
  const met = (target.atLeast === undefined || value >= target.atLeast) && (target.atMost === undefined || value <= target.atMost);
  return met ? 'met' : 'not met';
}

export function describeTarget(target: BenchTarget | undefined): string {
  if (!target) return '';
  return [target.atLeast !== undefined ? `>= ${target.atLeast}` : '', target.atMost !== undefined ? `<= ${target.atMost}` : ''].filter(Boolean).join(' and ');
}
