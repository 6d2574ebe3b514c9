// Throughput and first-token latency of a 128-token generation through the network (client -> aggregator ->
// provider, three processes on loopback) against a direct node-llama-cpp call on the same model and request,
// measured alternately in one run so both see the same machine load.
import { randomUUID } from 'node:crypto';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { validateNodeConfig } from '../src/config/index.js';
import { generateNodeKey } from '../src/identity/index.js';
import { LlamaCppEngine } from '../src/inference/index.js';
import { silentLogger } from '../src/log/index.js';
import { sharedModelPath } from '../src/models/shared-test-models.js';
import { runJob } from '../src/client/index.js';
import { JobSpec, SamplingParams } from '../src/protocol/index.js';
import { dialPeer } from '../src/transport/index.js';
import { decodeRate, endToEndRate, firstToken, type Sample } from './generation-samples.js';
import { eventually, runCli, startDaemon } from '../test/support/cli.js';
import { reportFigure } from './summary/bench-figure.js';

const ROUNDS = 7;
const MAX_TOKENS = 128;
const PROMPT = 'Once upon a time';

async function main(): Promise<void> {
  const model = sharedModelPath('stories260K.gguf');
  const dir = await mkdtemp(join(tmpdir(), 'infernet-bench-'));
  await runCli(['init', '--home', join(dir, 'provider'), '--role', 'provider', '--port', '0', '--model', model, '--sandbox', 'none']);
  const provider = await startDaemon(join(dir, 'provider'));
  await runCli(['init', '--home', join(dir, 'aggregator'), '--role', 'aggregator', '--port', '0', '--connect', provider.url]);
  const aggregator = await startDaemon(join(dir, 'aggregator'));
  await eventually(async () => JSON.parse((await runCli(['status', '--home', join(dir, 'aggregator'), '--json'])).stdout).daemon.peers.length > 0, 15_000);

  const key = generateNodeKey();
  const session = await dialPeer(aggregator.url, { identity: { key, role: 'client', agent: 'bench' }, limits: validateNodeConfig({}, 'bench').limits, logger: silentLogger() });
  const engine = new LlamaCppEngine({ threads: 1, contextSize: 2048, slots: 1 });
  const sampling = SamplingParams.parse({ maxTokens: MAX_TOKENS, seed: 42 });

  const direct = async (): Promise<Sample> => {
    const started = performance.now();
    let firstTokenMs = 0;
    let lastTokenMs = 0;
    const onText = () => {
      lastTokenMs = performance.now() - started;
      firstTokenMs ||= lastTokenMs;
    };
    const result = await engine.generate({ modelPath: model, input: { prompt: PROMPT }, sampling, onText });
    return { tokens: result.tokenIds.length, firstTokenMs, lastTokenMs, totalMs: performance.now() - started };
  };
  const network = async (): Promise<Sample> => {
    const spec = JobSpec.parse({ jobId: randomUUID(), model: { name: 'stories260K' }, input: { prompt: PROMPT }, sampling, deadline: Date.now() + 60_000 });
    const outcome = await runJob(session, key, spec);
    return { tokens: outcome.tokens, firstTokenMs: outcome.firstTokenMs, lastTokenMs: outcome.lastTokenMs, totalMs: outcome.totalMs };
  };

  await direct(); // warm-up: model load and first-run allocations on both paths
  await network();
  const directSamples: Sample[] = [];
  const networkSamples: Sample[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    if (round % 2) {
      directSamples.push(await direct());
      networkSamples.push(await network());
    } else {
      networkSamples.push(await network());
      directSamples.push(await direct());
    }
  }
  session.close();
  await engine.close();
  await aggregator.stop();
  await provider.stop();

  const rows: Array<[string, Sample[]]> = [
    ['direct node-llama-cpp (in-process)', directSamples],
    ['client -> aggregator -> provider (3 processes, WebSocket, NIP-44)', networkSamples],
  ];
  console.log(`\n# network path vs direct node-llama-cpp: stories260K, ${MAX_TOKENS} tokens greedy, median of ${ROUNDS} alternating rounds`);
  console.log('| path | decode tokens/s | end-to-end tokens/s | first token (ms) |');
  console.log('| --- | --- | --- | --- |');
  for (const [name, samples] of rows) {
    console.log(`| ${name} | ${decodeRate(samples).toFixed(0)} | ${endToEndRate(samples).toFixed(0)} | ${firstToken(samples).toFixed(2)} |`);
  }
  const firstDelay = firstToken(networkSamples) - firstToken(directSamples);
  console.log(`decode throughput ratio network/direct: ${(decodeRate(networkSamples) / decodeRate(directSamples)).toFixed(3)} (target >= 0.95)`);
  console.log(`end-to-end throughput ratio network/direct: ${(endToEndRate(networkSamples) / endToEndRate(directSamples)).toFixed(3)} (includes the first-token delay below)`);
  console.log(`first-token delay network - direct: ${firstDelay.toFixed(2)} ms (target <= 50 ms)`);
  reportFigure({ name: 'decode tokens/s, network / direct', value: decodeRate(networkSamples) / decodeRate(directSamples), unit: 'ratio', target: { atLeast: 0.95 } });
  reportFigure({ name: 'first-token delay, network - direct', value: firstDelay, unit: 'ms', target: { atMost: 50 } });
}

await main();
