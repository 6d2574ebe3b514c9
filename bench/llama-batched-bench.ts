// llama.cpp's own measure of batched decoding (its llama-batched-bench tool, built beside llama-server by
// scripts/build-llama-rpc.sh): N sequences decoded together in one process, no server, no HTTP, no scheduling. It is
// what llama.cpp itself gets from batching a model on this machine, so an engine's 4-jobs-against-1 figure is read
// against it: the engine cannot batch better than the kernels it runs.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';

export const BATCHED_BENCH_BINARY = 'llama-batched-bench';

/** One row of llama-batched-bench's table: `sequences` decoded together, `decodeTokensPerSecond` in total. */
export interface BatchedDecodeRow {
  promptTokens: number;
  decodeTokens: number;
  sequences: number;
  decodeTokensPerSecond: number;
}

/**
 * The rows of llama-batched-bench's markdown table (columns PP, TG, B, ..., S_TG t/s), read by their header's names
 * so that a column added in a later llama.cpp does not shift them. Throws when there is no such table.
 */
export function parseBatchedBenchTable(output: string): BatchedDecodeRow[] {
  const rows = output.split('\n').filter((line) => line.trim().startsWith('|')).map((line) => line.split('|').slice(1, -1).map((cell) => cell.trim()));
  const header = rows.find((cells) => cells.includes('B') && cells.includes('S_TG t/s'));
  if (!header) throw new Error(`no llama-batched-bench table in its output: ${output.slice(-600)}`);
  const column = (name: string) => header.indexOf(name);
  const [pp, tg, b, sTg] = [column('PP'), column('TG'), column('B'), column('S_TG t/s')];
  return rows
    .filter((cells) => cells.length === header.length && /^\d/.test(cells[b] ?? ''))
    .map((cells) => ({ promptTokens: Number(cells[pp]), decodeTokens: Number(cells[tg]), sequences: Number(cells[b]), decodeTokensPerSecond: Number(cells[sTg]) }));
}

/** llama-batched-bench in `binDir`, or undefined where the build predates it (scripts/build-llama-rpc.sh adds it). */
export function batchedBenchIn(binDir: string): string | undefined {
  const path = join(binDir, BATCHED_BENCH_BINARY);
  return existsSync(path) ? path : undefined;
}

/**
 * Decodes `decodeTokens` after a `promptTokens` prompt for each of `sequences` (1 and 4, say) on `threads` threads,
 * and returns total decode tokens/s per sequence count.
 */
export async function measureBatchedDecode(binary: string, options: { modelPath: string; threads: number; contextSize: number; promptTokens: number; decodeTokens: number; sequences: number[] }): Promise<Map<number, number>> {
  const run = async (sequences: readonly number[]) => {
    const args = ['-m', options.modelPath, '-c', String(options.contextSize), '-npp', String(options.promptTokens), '-ntg', String(options.decodeTokens), '-npl', sequences.join(','), '-t', String(options.threads), '-tb', String(options.threads)];
    const { stdout, stderr } = await promisify(execFile)(binary, args, { timeout: 300_000, maxBuffer: 1 << 20 });
    const output = `${stdout.slice(-1500)}\n${stderr.slice(-1500)}`;
    try {
      return { output, rows: parseBatchedBenchTable(`${stdout}\n${stderr}`) };
    } catch {
      return { output, rows: [] }; // the whole table lost the same way: its counts are missing, below
    }
  };
  const first = await run(options.sequences);
  const rates = new Map(first.rows.map((row) => [row.sequences, row.decodeTokensPerSecond]));
  // llama.cpp's logger writes from a thread of its own and the tool does not flush it before it exits, so the last
  // rows are sometimes lost (upstream says so in common/log.cpp; 1 run in 30 here): the missing counts run once more.
  const lost = options.sequences.filter((sequences) => !rates.has(sequences));
  const again = lost.length ? await run(lost) : undefined;
  for (const row of again?.rows ?? []) rates.set(row.sequences, row.decodeTokensPerSecond);
  // The tool also skips a sequence count whose prompts and tokens do not fit its context: said, not left out silently.
  const missing = options.sequences.filter((sequences) => !rates.has(sequences));
  if (missing.length) throw new Error(`llama-batched-bench gave no row for ${missing.join(', ')} sequence(s), twice: ${again?.output ?? first.output}`);
  return new Map(options.sequences.map((sequences) => [sequences, rates.get(sequences)!]));
}
