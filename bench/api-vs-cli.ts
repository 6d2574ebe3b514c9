// First-token latency and tokens/s of a streamed 128-token completion through the OpenAI-compatible API (the
// official client -> a client node's HTTP API -> aggregator -> provider) against the CLI's path (runJob over a
// session with the aggregator, what `infernet submit` runs, without its process start-up), alternately in one run.
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateNodeConfig } from '../src/config/index.js';
import { generateNodeKey } from '../src/identity/index.js';
import { silentLogger } from '../src/log/index.js';
import { sharedModelPath } from '../src/models/shared-test-models.js';
import { runJob } from '../src/client/index.js';
import { JobSpec, SamplingParams } from '../src/protocol/index.js';
import { dialPeer } from '../src/transport/index.js';
import { decodeRate, endToEndRate, firstToken, type Sample } from './generation-samples.js';
import { startApiDaemons } from './api-daemons.js';
import { reportFigure } from './summary/bench-figure.js';

const ROUNDS = 7;
const MAX_TOKENS = 128;
const PROMPT = 'Once upon a time';
const MODEL = 'stories260K';

async function main(): Promise<void> {
  const network = await startApiDaemons(await mkdtemp(join(tmpdir(), 'infernet-bench-api-')), [sharedModelPath('stories260K.gguf')]);
  const key = generateNodeKey();
  const session = await dialPeer(network.aggregatorUrl, { identity: { key, role: 'client', agent: 'bench' }, limits: validateNodeConfig({}, 'bench').limits, logger: silentLogger() });
  const sampling = SamplingParams.parse({ maxTokens: MAX_TOKENS, seed: 42 });

  const cli = async (): Promise<Sample> => {
    const spec = JobSpec.parse({ jobId: randomUUID(), model: { name: MODEL }, input: { prompt: PROMPT }, sampling, deadline: Date.now() + 60_000 });
    const outcome = await runJob(session, key, spec);
    return { tokens: outcome.tokens, firstTokenMs: outcome.firstTokenMs, lastTokenMs: outcome.lastTokenMs, totalMs: outcome.totalMs };
  };
  const api = async (): Promise<Sample> => {
    const started = performance.now();
    let firstTokenMs = 0;
    let lastTokenMs = 0;
    let tokens = 0;
    const stream = await network.openai.completions.create({ model: MODEL, prompt: PROMPT, max_tokens: MAX_TOKENS, temperature: 0, stream: true, stream_options: { include_usage: true } });
    for await (const chunk of stream) {
      if (chunk.choices[0]?.text) {
        lastTokenMs = performance.now() - started;
        firstTokenMs ||= lastTokenMs;
      }
      if (chunk.usage) tokens = chunk.usage.completion_tokens;
    }
    return { tokens, firstTokenMs, lastTokenMs, totalMs: performance.now() - started };
  };

  await cli(); // warm-up: first-run allocations, the API's session with the aggregator
  await api();
  const cliSamples: Sample[] = [];
  const apiSamples: Sample[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const order = round % 2 ? [cli, api] : [api, cli];
    for (const run of order) (run === cli ? cliSamples : apiSamples).push(await run());
  }
  session.close();
  await network.stop();
  printTable(cliSamples, apiSamples);
}

function printTable(cliSamples: Sample[], apiSamples: Sample[]): void {
  console.log(`\n# OpenAI-compatible API vs the CLI path: stories260K, ${MAX_TOKENS} tokens greedy, streamed, median of ${ROUNDS} alternating rounds`);
  console.log('| path | first token (ms) | decode tokens/s | end-to-end tokens/s |');
  console.log('| --- | --- | --- | --- |');
  const rows: Array<[string, Sample[]]> = [
    ['CLI path: runJob -> aggregator -> provider', cliSamples],
    ['API: openai client -> HTTP/SSE -> client node -> aggregator -> provider', apiSamples],
  ];
  for (const [name, samples] of rows) console.log(`| ${name} | ${firstToken(samples).toFixed(2)} | ${decodeRate(samples).toFixed(0)} | ${endToEndRate(samples).toFixed(0)} |`);
  console.log(`first-token delay API - CLI: ${(firstToken(apiSamples) - firstToken(cliSamples)).toFixed(2)} ms (ratio ${(firstToken(apiSamples) / firstToken(cliSamples)).toFixed(2)})`);
  console.log(`decode throughput ratio API/CLI: ${(decodeRate(apiSamples) / decodeRate(cliSamples)).toFixed(3)}`);
  console.log(`end-to-end throughput ratio API/CLI: ${(endToEndRate(apiSamples) / endToEndRate(cliSamples)).toFixed(3)}`);
  reportFigure({ name: 'decode tokens/s, API / CLI', value: decodeRate(apiSamples) / decodeRate(cliSamples), unit: 'ratio' });
  reportFigure({ name: 'first-token delay, API - CLI', value: firstToken(apiSamples) - firstToken(cliSamples), unit: 'ms' });
}

await main();
