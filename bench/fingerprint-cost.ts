// What fingerprinting every generation costs a provider. A spec no longer says whether its job may be checked
// (threat model, attack 4), so providers record per-token fingerprints (the chosen token's logprob and its top-4
// alternatives by default) for every job. Decode tokens/s with fingerprints (top-0 and top-4) against without, on the same in-process engine,
// alternately in one run, for the demo model (512-token vocabulary) and the 100M benchmark model (8,192 tokens:
// the top-k step scans the whole vocabulary, so its share grows with the vocabulary and shrinks with the model).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LlamaCppEngine, type GenerationResult } from '../src/inference/index.js';
import { BENCHMARK_LLAMA_SHAPE, writeRandomLlamaGguf } from '../src/models/index.js';
import { sharedModelPath } from '../src/models/shared-test-models.js';
import { SamplingParams } from '../src/protocol/index.js';
import { decodeRate, type Sample } from './generation-samples.js';
import { reportFigure } from './summary/bench-figure.js';

const ROUNDS = Number(process.argv[2] ?? 7);
const DECODE_TOKENS = 96;
const FINGERPRINT_TOP_K = 4;

const sampleOf = (result: GenerationResult): Sample => ({ tokens: result.tokenIds.length, firstTokenMs: result.firstTokenMs, lastTokenMs: result.totalMs, totalMs: result.totalMs });

/** Decode tokens/s ratios against no fingerprints: [chosen token only (top-0), top-4]. */
async function measure(label: string, modelPath: string): Promise<[number, number]> {
  const engine = new LlamaCppEngine({ threads: 1, contextSize: 1024, slots: 1 });
  try {
    // minTokens-like: the end token is banned by a large negative bias where the model has one (token 2 in llama vocabularies).
    const sampling = SamplingParams.parse({ maxTokens: DECODE_TOKENS, logitBias: [[2, -100]] });
    const run = async (topK: number | undefined): Promise<Sample> =>
      sampleOf(await engine.generate({ modelPath, input: { prompt: 'Once upon a time' }, sampling, ...(topK !== undefined ? { fingerprintTopK: topK } : {}) }));
    const variants = [undefined, 0, FINGERPRINT_TOP_K];
    for (const topK of variants) await run(topK);
    const samples = variants.map((): Sample[] => []);
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 ? [...variants.keys()].reverse() : [...variants.keys()];
      for (const index of order) samples[index]!.push(await run(variants[index]));
    }
    const [plain, chosenOnly, topK] = samples.map((variant) => decodeRate(variant)) as [number, number, number];
    console.log(`| ${label} | ${samples[0]![0]?.tokens} | ${plain.toFixed(0)} | ${chosenOnly.toFixed(0)} (${(chosenOnly / plain).toFixed(3)}) | ${topK.toFixed(0)} (${(topK / plain).toFixed(3)}) |`);
    return [chosenOnly / plain, topK / plain];
  } finally {
    await engine.close();
  }
}

const dir = await mkdtemp(join(tmpdir(), 'infernet-bench-fingerprints-'));
try {
  const benchmarkModel = join(dir, 'bench-100m-q8_0.gguf');
  await writeRandomLlamaGguf(benchmarkModel, BENCHMARK_LLAMA_SHAPE, { seed: 7, tensorType: 'Q8_0' });
  console.log(`\n# Fingerprinting every generation (top-${FINGERPRINT_TOP_K}): decode tokens/s, in-process llama.cpp, 1 thread, median of ${ROUNDS} alternating rounds`);
  console.log('| model | tokens | without fingerprints | chosen token only (fingerprintTopK 0; ratio) | top-4 (the default; ratio) |');
  console.log('| --- | --- | --- | --- | --- |');
  const small = await measure('stories260K (vocabulary 512)', sharedModelPath('stories260K.gguf'));
  const large = await measure('benchmark 100M Q8_0 (vocabulary 8,192)', benchmarkModel);
  reportFigure({ name: 'decode tokens/s with top-4 fingerprints / without, stories260K', value: small[1], unit: 'ratio' });
  reportFigure({ name: 'decode tokens/s with top-4 fingerprints / without, 100M model', value: large[1], unit: 'ratio' });
  reportFigure({ name: 'decode tokens/s with top-0 fingerprints / without, 100M model', value: large[0], unit: 'ratio' });
} finally {
  await rm(dir, { recursive: true, force: true });
}
