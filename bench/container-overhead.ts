// What running a job in a fresh sandboxed container costs: the time from a job's start to its first token, in a
// container (create, start, node, llama.cpp, model load, first token) and in-process (cold: model load and first
// token; warm: the model already loaded), on the same model and request in the same run.
//   node_modules/.bin/node dist/bench/container-overhead.js [runs]
import { statSync } from 'node:fs';
import Docker from 'dockerode';
import { LlamaCppEngine } from '../src/inference/index.js';
import { buildRuntimeImage, ContainerEngine, setupDockerEngine } from '../src/execution/index.js';
import { sharedModelPath } from '../src/models/shared-test-models.js';
import { SamplingParams } from '../src/protocol/index.js';
import { reportFigure } from './summary/bench-figure.js';

const runs = Number(process.argv[2] ?? 5);
const modelPath = sharedModelPath('stories260K.gguf');
const request = { modelPath, input: { prompt: 'Once upon a time' }, sampling: SamplingParams.parse({ maxTokens: 32 }) };
const options = { threads: 1, contextSize: 512 };

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
};
const ms = (value: number): string => `${value.toFixed(1)} ms`;

await setupDockerEngine();
const imageStarted = performance.now();
const image = await buildRuntimeImage();
const imageMs = performance.now() - imageStarted;
const docker = new Docker();
const imageBytes = (await docker.getImage(image).inspect()).Size;

const inProcess = new LlamaCppEngine({ ...options, slots: 1 });
const cold = await inProcess.generate(request);
const warm: number[] = [];
for (let i = 0; i < runs; i++) warm.push((await inProcess.generate(request)).firstTokenMs);
await inProcess.close();

const contained = new ContainerEngine({ docker, image, nodeId: 'bench-container-overhead', ...options });
const inContainer: number[] = [];
const totals: number[] = [];
for (let i = 0; i < runs; i++) {
  const result = await contained.generate(request);
  if (result.tokenIds.join() !== cold.tokenIds.join()) throw new Error('the container generated other tokens than the in-process engine');
  inContainer.push(result.firstTokenMs);
  totals.push(result.totalMs);
}

const container = median(inContainer);
console.log(`model                      stories260K.gguf (${(statSync(modelPath).size / 2 ** 20).toFixed(1)} MiB), ${request.sampling.maxTokens} tokens greedy, ${runs} runs, medians`);
console.log(`runtime image              ${image}, ${(imageBytes / 1e6).toFixed(0)} MB, ready in ${ms(imageMs)} (cached unless its content changed)`);
console.log(`in-process, cold           first token ${ms(cold.firstTokenMs)} (model load included)`);
console.log(`in-process, warm           first token ${ms(median(warm))}`);
console.log(`container (per job)        first token ${ms(container)}, container done and removed ${ms(median(totals))}`);
console.log(`overhead vs cold           +${ms(container - cold.firstTokenMs)}, ratio ${(container / cold.firstTokenMs).toFixed(1)}x`);
console.log(`overhead vs warm           +${ms(container - median(warm))}, ratio ${(container / median(warm)).toFixed(0)}x`);
reportFigure({ name: 'first token, per-job container - warm in-process', value: container - median(warm), unit: 'ms' });
