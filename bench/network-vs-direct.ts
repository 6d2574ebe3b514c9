// Throughput and first-token latency of a 128-token generation through the network (client -> aggregator ->
// provider, three processes on loopback) against a direct node-llama-cpp call on the same model and request,
// measured alternately in one run so both see the same machine load. The provider fingerprints every generation
// (top-4 candidates per token, threat model attack 4): the job path's own overhead is read against a direct call
// that computes the same fingerprints; the bare direct call shows the whole cost, fingerprints included (their cost
// alone: bench/fingerprint-cost.ts). With two cores or more and taskset (Linux), the provider runs on core 0 and
// the aggregator, the client and the direct calls on core 1, as they would sit on different machines: otherwise the
// client's and the aggregator's work takes the provider's core from its decoding.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { availableParallelism } from 'node:os';
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
/** What a provider computes for every generation unless configured otherwise (verification.fingerprintTopK). */
const PROVIDER_FINGERPRINT_TOP_K = 4;

async function main(): Promise<void> {
  const model = sharedModelPath('stories260K.gguf');
  const dir = await mkdtemp(join(tmpdir(), 'infernet-bench-'));
  await runCli(['init', '--home', join(dir, 'provider'), '--role', 'provider', '--port', '0', '--model', model, '--sandbox', 'none']);
  const pinned = pinCores();
  const provider = await startDaemon(join(dir, 'provider'), pinned ? { cpus: '0' } : {});
  await runCli(['init', '--home', join(dir, 'aggregator'), '--role', 'aggregator', '--port', '0', '--connect', provider.url]);
  const aggregator = await startDaemon(join(dir, 'aggregator'), pinned ? { cpus: '1' } : {});
  await eventually(async () => JSON.parse((await runCli(['status', '--home', join(dir, 'aggregator'), '--json'])).stdout).daemon.peers.length > 0, 15_000);

  const key = generateNodeKey();
  const session = await dialPeer(aggregator.url, { identity: { key, role: 'client', agent: 'bench' }, limits: validateNodeConfig({}, 'bench').limits, logger: silentLogger() });
  const engine = new LlamaCppEngine({ threads: 1, contextSize: 2048, slots: 1 });
  const sampling = SamplingParams.parse({ maxTokens: MAX_TOKENS, seed: 42 });

  const direct = async (fingerprintTopK?: number): Promise<Sample> => {
    const started = performance.now();
    let firstTokenMs = 0;
    let lastTokenMs = 0;
    const onText = () => {
      lastTokenMs = performance.now() - started;
      firstTokenMs ||= lastTokenMs;
    };
    const result = await engine.generate({ modelPath: model, input: { prompt: PROMPT }, sampling, onText, ...(fingerprintTopK !== undefined ? { fingerprintTopK } : {}) });
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
  const fingerprintedSamples: Sample[] = [];
  const networkSamples: Sample[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const paths = [async () => directSamples.push(await direct()), async () => fingerprintedSamples.push(await direct(PROVIDER_FINGERPRINT_TOP_K)), async () => networkSamples.push(await network())];
    // A different order each round, so no path always follows the same one.
    for (let i = 0; i < paths.length; i++) await paths[(round + i) % paths.length]!();
  }
  session.close();
  await engine.close();
  await aggregator.stop();
  await provider.stop();

  const rows: Array<[string, Sample[]]> = [
    ['direct node-llama-cpp (in-process)', directSamples],
    [`direct, with the provider's fingerprints (top-${PROVIDER_FINGERPRINT_TOP_K})`, fingerprintedSamples],
    ['client -> aggregator -> provider (3 processes, WebSocket, NIP-44)', networkSamples],
  ];
  console.log(`\n# network path vs direct node-llama-cpp: stories260K, ${MAX_TOKENS} tokens greedy, median of ${ROUNDS} alternating rounds, ${pinned ? 'provider on core 0, the rest on core 1' : 'not pinned to cores'}`);
  console.log('| path | decode tokens/s | end-to-end tokens/s | first token (ms) |');
  console.log('| --- | --- | --- | --- |');
  for (const [name, samples] of rows) {
    console.log(`| ${name} | ${decodeRate(samples).toFixed(0)} | ${endToEndRate(samples).toFixed(0)} | ${firstToken(samples).toFixed(2)} |`);
  }
  const firstDelay = firstToken(networkSamples) - firstToken(directSamples);
  const jobPath = decodeRate(networkSamples) / decodeRate(fingerprintedSamples);
  console.log(`decode throughput ratio network/direct with the same fingerprints: ${jobPath.toFixed(3)} (the job path's own overhead; target >= 0.95)`);
  console.log(`decode throughput ratio network/bare direct: ${(decodeRate(networkSamples) / decodeRate(directSamples)).toFixed(3)} (fingerprints included)`);
  console.log(`end-to-end throughput ratio network/direct: ${(endToEndRate(networkSamples) / endToEndRate(directSamples)).toFixed(3)} (includes the first-token delay below)`);
  console.log(`first-token delay network - direct: ${firstDelay.toFixed(2)} ms (target <= 50 ms)`);
  reportFigure({ name: 'decode tokens/s, network / direct with the same fingerprints', value: jobPath, unit: 'ratio', target: { atLeast: 0.95 } });
  reportFigure({ name: 'decode tokens/s, network / bare direct (fingerprints included)', value: decodeRate(networkSamples) / decodeRate(directSamples), unit: 'ratio' });
  reportFigure({ name: 'first-token delay, network - direct', value: firstDelay, unit: 'ms', target: { atMost: 50 } });
}

/** Pins this process (every thread: the client and the direct calls) to core 1 when taskset can; true when it did. */
function pinCores(): boolean {
  if (availableParallelism() < 2 || !existsSync('/usr/bin/taskset')) return false;
  execFileSync('taskset', ['-a', '-pc', '1', String(process.pid)], { stdio: 'ignore' });
  return true;
}

await main();
