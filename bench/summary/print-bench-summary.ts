// The end of `npm run bench`: one table of every benchmark's outcome (ran, failed with its exit code, timed out) and
// of each headline figure against its target. Exits 1 when any benchmark failed, after printing everything.
//   node dist/bench/summary/print-bench-summary.js OUTCOMES_FILE FIGURES_FILE
import { existsSync, readFileSync } from 'node:fs';
import { describeTarget, targetStatus, type BenchFigure } from './bench-figure.js';

interface BenchOutcome {
  bench: string;
  exitCode: number;
  seconds: number;
}

const [outcomesPath, figuresPath] = process.argv.slice(2);
const lines = (path: string | undefined): string[] => (path && existsSync(path) ? readFileSync(path, 'utf8').split('\n').filter(Boolean) : []);
const outcomes = lines(outcomesPath).map((line) => JSON.parse(line) as BenchOutcome);
const figures = lines(figuresPath).map((line) => JSON.parse(line) as BenchFigure);

const outcomeText = (outcome: BenchOutcome): string =>
  outcome.exitCode === 0 ? 'ok' : outcome.exitCode === 124 ? 'TIMED OUT' : outcome.exitCode === 200 ? 'skipped' : `FAILED (exit ${outcome.exitCode})`;

console.log('\n# Benchmark summary');
console.log('| benchmark | outcome | seconds |');
console.log('| --- | --- | --- |');
for (const outcome of outcomes) console.log(`| ${outcome.bench} | ${outcomeText(outcome)} | ${outcome.seconds} |`);

console.log('\n| benchmark | figure | value | target | |');
console.log('| --- | --- | --- | --- | --- |');
for (const figure of figures) {
  const value = figure.unit === 'ms' ? `${figure.value.toFixed(1)} ms` : figure.unit === 'x' ? `${figure.value.toFixed(2)}x` : figure.value.toFixed(3);
  const status = targetStatus(figure);
  console.log(`| ${figure.bench} | ${figure.name} | ${value} | ${describeTarget(figure.target)} | ${status}${figure.note ? ` (${figure.note})` : ''} |`);
}

const failed = outcomes.filter((outcome) => outcome.exitCode !== 0 && outcome.exitCode !== 200);
if (failed.length) {
  console.log(`\n${failed.length} of ${outcomes.length} benchmarks failed: ${failed.map((outcome) => outcome.bench).join(', ')}`);
  process.exit(1);
}
console.log(`\nall ${outcomes.length} benchmarks ran`);
