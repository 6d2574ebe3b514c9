// A completion with n = 4 choices against the same four choices asked one after the other (what a request with n
// choices cost before its choices ran at once), alternately in one run, on an all-in-one node whose provider serves
// the project's 100M benchmark model with 4 slots: total tokens/s of each, and their ratio. On this CPU the ratio is
// bounded by what llama.cpp's kernels gain from decoding 4 sequences together (bench/warm-engine.ts measures it);
// on a GPU, or with the choices spread over several providers, it approaches n.
//   node_modules/.bin/node dist/bench/parallel-choices.js [rounds]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { createApiKey } from '../src/api/api-keys.js';
import { nodeHome, validateNodeConfig } from '../src/config/index.js';
import { generateNodeKey } from '../src/identity/index.js';
import { silentLogger } from '../src/log/index.js';
import { BENCHMARK_LLAMA_SHAPE, writeRandomLlamaGguf } from '../src/models/index.js';
import { NodeDaemon } from '../src/node/index.js';
import { reportFigure } from './summary/bench-figure.js';

const ROUNDS = Number(process.argv[2] ?? 3);
const CHOICES = 4;
const MAX_TOKENS = 64;
/** The random model's end token (2) banned, so that every choice decodes its whole budget. */
const REQUEST = { model: 'bench-100m-q8_0', prompt: 'The garden by the river', max_tokens: MAX_TOKENS, temperature: 0.8, logit_bias: { '2': -100 } };

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'infernet-bench-choices-'));
  const modelPath = join(dir, 'bench-100m-q8_0.gguf');
  await writeRandomLlamaGguf(modelPath, BENCHMARK_LLAMA_SHAPE, { seed: 7, tensorType: 'Q8_0' });
  const home = nodeHome(join(dir, 'node'));
  const apiKey = (await createApiKey(home.apiKeysFile)).key;
  const config = validateNodeConfig({ role: 'all', listen: { port: 0 }, models: [modelPath], provider: { sandbox: 'none', slots: CHOICES }, storage: { backend: 'file' }, api: { port: 0 } }, 'bench');
  const node = await NodeDaemon.start({ home, config, key: generateNodeKey(), logger: silentLogger(), writeState: false });
  try {
    while ((node.aggregator?.providerCount ?? 0) === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    const openai = new OpenAI({ apiKey, baseURL: `${node.apiUrl}/v1`, maxRetries: 0 });
    const timed = async (run: () => Promise<number>) => {
      const started = performance.now();
      const tokens = await run();
      return { ms: performance.now() - started, tokens };
    };
    const together = () => timed(async () => (await openai.completions.create({ ...REQUEST, n: CHOICES })).usage!.completion_tokens);
    const oneByOne = () =>
      timed(async () => {
        let tokens = 0;
        for (let choice = 0; choice < CHOICES; choice++) tokens += (await openai.completions.create(REQUEST)).usage!.completion_tokens;
        return tokens;
      });
    await together(); // warm-up: the engine's sequences, the API's session
    await oneByOne();
    const samples = { together: [] as number[], oneByOne: [] as number[] };
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 ? (['oneByOne', 'together'] as const) : (['together', 'oneByOne'] as const);
      for (const name of order) {
        const { ms, tokens } = await (name === 'together' ? together() : oneByOne());
        samples[name].push((tokens / ms) * 1000);
      }
    }
    const ratio = median(samples.together) / median(samples.oneByOne);
    console.log(`\n# ${CHOICES} choices of ${MAX_TOKENS} tokens (100M benchmark model, provider slots ${CHOICES}), median of ${ROUNDS} alternating rounds`);
    console.log('| how | tokens/s |');
    console.log('| --- | --- |');
    console.log(`| one request, n=${CHOICES} (choices at once) | ${median(samples.together).toFixed(0)} |`);
    console.log(`| ${CHOICES} requests one after the other | ${median(samples.oneByOne).toFixed(0)} |`);
    console.log(`tokens/s ratio, n=${CHOICES} at once / one after the other: ${ratio.toFixed(2)}`);
    reportFigure({ name: `tokens/s of n=${CHOICES} choices at once / one after the other`, value: ratio, unit: 'ratio', target: { atLeast: 1.5 } });
  } finally {
    await node.stop();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
