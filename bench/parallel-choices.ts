// A completion with n = 4 choices against the same four choices asked one after the other (what a request with n
// choices cost before its choices ran at once), alternately in one run, through a client node's API, an aggregator
// and two providers (one slot each, each its own process) serving the project's 100M benchmark model: total
// tokens/s of each, and their ratio. Each provider decodes on one thread, so with two cores the choices at once can
// reach 2x; one provider decoding several sequences together gains what llama.cpp's kernels gain from batching
// here (bench/warm-engine.ts measures it), and on a GPU far more.
//   node_modules/.bin/node dist/bench/parallel-choices.js [rounds]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BENCHMARK_LLAMA_SHAPE, writeRandomLlamaGguf } from '../src/models/index.js';
import { startApiDaemons } from './api-daemons.js';
import { median } from './bench-node.js';
import { reportFigure } from './summary/bench-figure.js';

const ROUNDS = Number(process.argv[2] ?? 3);
const CHOICES = 4;
const MAX_TOKENS = 64;
const MODEL = 'bench-100m-q8_0';
/** The random model's end token (2) banned, so that every choice decodes its whole budget. */
const REQUEST = { model: MODEL, prompt: 'The garden by the river', max_tokens: MAX_TOKENS, temperature: 0.8, logit_bias: { '2': -100 } };

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'infernet-bench-choices-'));
  const modelPath = join(dir, `${MODEL}.gguf`);
  await writeRandomLlamaGguf(modelPath, BENCHMARK_LLAMA_SHAPE, { seed: 7, tensorType: 'Q8_0' });
  const network = await startApiDaemons(dir, [modelPath, modelPath]);
  try {
    const { openai } = network;
    const timed = async (run: () => Promise<number>) => {
      const started = performance.now();
      const tokens = await run();
      return (tokens / (performance.now() - started)) * 1000;
    };
    const together = () => timed(async () => (await openai.completions.create({ ...REQUEST, n: CHOICES })).usage!.completion_tokens);
    const oneByOne = () =>
      timed(async () => {
        let tokens = 0;
        for (let choice = 0; choice < CHOICES; choice++) tokens += (await openai.completions.create(REQUEST)).usage!.completion_tokens;
        return tokens;
      });
    await together(); // warm-up: both providers' engines, the API's session
    await oneByOne();
    const samples = { together: [] as number[], oneByOne: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 ? (['oneByOne', 'together'] as const) : (['together', 'oneByOne'] as const);
      for (const name of order) samples[name].push(await (name === 'together' ? together() : oneByOne()));
    }
    const ratio = median(samples.together) / median(samples.oneByOne);
    console.log(`\n# ${CHOICES} choices of ${MAX_TOKENS} tokens (100M benchmark model, 2 providers of 1 slot), median of ${ROUNDS} alternating rounds`);
    console.log('| how | tokens/s |');
    console.log('| --- | --- |');
    console.log(`| one request, n=${CHOICES} (choices at once) | ${median(samples.together).toFixed(1)} |`);
    console.log(`| ${CHOICES} requests one after the other | ${median(samples.oneByOne).toFixed(1)} |`);
    console.log(`tokens/s ratio, n=${CHOICES} at once / one after the other: ${ratio.toFixed(2)}`);
    // Two providers could give 2x; their engines, the aggregator and the client node share this machine's cores.
    reportFigure({ name: `tokens/s of n=${CHOICES} choices at once / one after the other (2 providers)`, value: ratio, unit: 'ratio', target: { atLeast: 1.25 }, note: 'bounded by 2 cores shared by 2 engines, the aggregator and the client node' });
  } finally {
    await network.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
