import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { it } from 'node:test';
import { pino } from 'pino';
import { nodeHome, validateNodeConfig } from '../config/index.js';
import { generateNodeKey } from '../identity/index.js';
import { silentLogger } from '../log/index.js';
import { sharedModelPath } from '../models/shared-test-models.js';
import { writeRandomLlamaGguf } from '../models/index.js';
import { ModelExceedsMemoryError } from '../planner/index.js';
import { NodeDaemon } from '../node/node-daemon.js';
import { readLiveDaemonState } from '../node/index.js';
import { openProviderRuntime } from './provider-runtime.js';
import { SamplingParams } from '../protocol/index.js';
import { STAND_IN_COMMAND } from '../inference/vllm/vllm-test-support.js';
import { parseNvidiaSmiQuery } from '../discovery/hardware/index.js';
import { readFixture } from '../discovery/hardware/test-fixtures.js';
import { checkLlamaGpuBuild } from '../execution/index.js';

it('refuses jobs, and offers no slots, when the sandbox is required and no Docker engine answers', async () => {
  const previous = process.env.DOCKER_HOST;
  process.env.DOCKER_HOST = 'unix:///nonexistent/docker.sock';
  try {
    const config = validateNodeConfig({ role: 'provider', listen: { port: 0 }, models: [sharedModelPath('stories260K.gguf')] }, 'test');
    const runtime = await openProviderRuntime(config, 'node-under-test', silentLogger());
    assert.equal(runtime.engine, undefined);
    assert.match(runtime.refusal ?? '', /refuses jobs/);
    const home = nodeHome(await mkdtemp(join(tmpdir(), 'refusing-')));
    const daemon = await NodeDaemon.start({ home, config, key: generateNodeKey(), logger: silentLogger() });
    try {
      assert.equal(daemon.provider?.slots, 0);
      // What `infernet status` shows the operator: why this provider runs no jobs.
      assert.equal((await readLiveDaemonState(home.daemonStateFile))?.refusal, runtime.refusal);
    } finally {
      await daemon.stop();
      await rm(home.dir, { recursive: true, force: true });
    }
  } finally {
    if (previous === undefined) delete process.env.DOCKER_HOST;
    else process.env.DOCKER_HOST = previous;
  }
});

it('runs each model in an unsandboxed engine process of its own with sandbox: none: llama.cpp dying there fails its job, not the daemon', async () => {
  const model = sharedModelPath('stories260K.gguf');
  const config = validateNodeConfig({ role: 'provider', models: [model], provider: { sandbox: 'none', threads: 1, slots: 2, contextSize: 256 } }, 'test');
  // The log an operator reads names each engine process as it loads.
  const lines: string[] = [];
  const runtime = await openProviderRuntime(config, 'node-under-test', pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }));
  const loaded = () => lines.map((line) => JSON.parse(line) as { msg: string; engine?: string }).filter((line) => line.msg === 'model loaded in its engine').map((line) => line.engine);
  const engine = runtime.engine!;
  try {
    // The same llama.cpp build and numbers as the in-process engine it replaced: the same engine id.
    assert.match(engine.id, /^llama\.cpp\/node-llama-cpp@[\d.]+$/);
    const request = (onText?: () => void) => ({ modelPath: model, input: { prompt: 'Once upon a time' }, sampling: SamplingParams.parse({ maxTokens: 200 }), ...(onText ? { onText } : {}) });
    const solo = await engine.generate(request());
    assert.equal(runtime.state?.().sandbox, 'none');
    assert.equal(runtime.state?.().engines[0]?.state, 'ready');
    // A llama.cpp abort ends the process it runs in: here the engine's, killed mid-job.
    const enginePid = Number(loaded()[0]);
    assert.ok(enginePid > 0 && enginePid !== process.pid, `the engine runs in a process of its own: ${loaded().join(',')}`);
    let killed = false;
    await assert.rejects(
      engine.generate(request(() => {
        if (!killed) process.kill(enginePid, 'SIGKILL');
        killed = true;
      })),
      /killed by SIGKILL/,
    );
    const after = await engine.generate(request());
    assert.deepEqual(after.tokenIds, solo.tokenIds);
    assert.equal(runtime.state?.().engines[0]?.restarts, 1);
  } finally {
    await engine.close();
  }
});

it('runs jobs on a supervised vLLM server when provider.engine is vllm (a stand-in vLLM server as the command, sandbox: none)', async () => {
  const config = validateNodeConfig({ role: 'provider', provider: { sandbox: 'none', engine: 'vllm', vllm: { command: [...STAND_IN_COMMAND] } } }, 'test');
  const runtime = await openProviderRuntime(config, 'node-under-test', silentLogger());
  try {
    assert.equal(runtime.engine?.id, 'vllm@unknown', 'no server has told its version yet');
    const result = await runtime.engine!.generate({ modelPath: '/models/stand-in-model', input: { prompt: 'hello' }, sampling: SamplingParams.parse({ maxTokens: 4 }) });
    assert.equal(result.tokenIds.length, 4);
    assert.equal(runtime.engine?.id, 'vllm@0.0.0-stand-in', "the version the server's GET /version answers");
    const state = runtime.state!();
    assert.equal(state.sandbox, 'none');
    assert.equal(state.engines[0]?.state, 'ready');
    assert.equal(state.engines[0]?.modelPath, '/models/stand-in-model');
  } finally {
    await runtime.engine?.close();
  }
});

it('runs jobs on llama.cpp\'s own server, slots decoded together, when provider.engine is llama-server with sandbox: none', async () => {
  const model = sharedModelPath('stories260K.gguf');
  const config = validateNodeConfig({ role: 'provider', models: [model], provider: { sandbox: 'none', engine: 'llama-server', slots: 2, threads: 1, batchThreads: 2, contextSize: 256 } }, 'test');
  const runtime = await openProviderRuntime(config, 'node-under-test', silentLogger());
  try {
    assert.match(runtime.engine?.id ?? '', /llama-server/);
    const sampling = SamplingParams.parse({ maxTokens: 8 });
    const [a, b] = await Promise.all(['Once upon a time', 'The little dog'].map((prompt) => runtime.engine!.generate({ modelPath: model, input: { prompt }, sampling })));
    assert.ok(a!.tokenIds.length > 0 && b!.tokenIds.length > 0);
    assert.equal(runtime.state!().sandbox, 'none');
  } finally {
    await runtime.engine?.close();
  }
});

it('runs llama.cpp\'s own server in a Docker container per model when provider.engine is llama-server under the sandbox', async () => {
  const model = sharedModelPath('stories260K.gguf');
  const config = validateNodeConfig({ role: 'provider', models: [model], provider: { engine: 'llama-server', contextSize: 256 } }, 'test');
  const runtime = await openProviderRuntime(config, `provider-runtime-test-${process.pid}`, silentLogger());
  try {
    assert.match(runtime.engine?.id ?? '', /llama-server@\w+\+docker$/);
    const result = await runtime.engine!.generate({ modelPath: model, input: { prompt: 'Once upon a time' }, sampling: SamplingParams.parse({ maxTokens: 8 }) });
    assert.ok(result.tokenIds.length > 0);
    assert.equal(runtime.state!().sandbox, 'docker');
  } finally {
    await runtime.engine?.close();
  }
});

it('refuses, with the figures, a model too large for the llama-server container\'s memory, before loading it', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'infernet-big-model-'));
  try {
    const big = join(dir, 'big.gguf');
    // About 85 MB of F32 weights against a 64 MiB container.
    await writeRandomLlamaGguf(big, { name: 'too-big', layers: 4, hiddenSize: 512, heads: 8, kvHeads: 8, feedForwardLength: 1408, vocabularySize: 8192, contextLength: 256 }, { seed: 1, tensorType: 'F32' });
    const config = validateNodeConfig({ role: 'provider', models: [big], provider: { engine: 'llama-server', containerMemoryMb: 64, contextSize: 256 } }, 'test');
    const runtime = await openProviderRuntime(config, `provider-runtime-test-${process.pid}`, silentLogger());
    try {
      await assert.rejects(runtime.engine!.generate({ modelPath: big, input: { prompt: 'hi' }, sampling: SamplingParams.parse({ maxTokens: 1 }) }), (error: Error) => {
        assert.ok(error instanceof ModelExceedsMemoryError);
        assert.ok(error.neededBytes > error.availableBytes && error.availableBytes === 64 * 2 ** 20);
        assert.match(error.message, /container's memory limit/);
        return true;
      });
    } finally {
      await runtime.engine?.close();
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

it("on a GPU, checks node-llama-cpp's build for it before serving: refused at start-up, saying what to install, where it cannot load (recorded H100 nvidia-smi, no GPU here)", async () => {
  const model = sharedModelPath('stories260K.gguf');
  const config = validateNodeConfig({ role: 'provider', models: [model], provider: { sandbox: 'none', threads: 1, contextSize: 256 } }, 'test');
  const { gpus } = parseNvidiaSmiQuery(readFixture('nvidia-smi-query-allfields-1xH100-vm.csv'));
  const lines: string[] = [];
  const runtime = await openProviderRuntime(config, 'node-under-test', pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }), {
    detectHardware: async () => ({ gpus, os: 'linux', arch: 'x64' }),
  });
  try {
    assert.ok(lines.some((line) => /"backend":"cuda".*"device":"GPU 0 NVIDIA H100 80GB HBM3".*inference backend chosen/.test(line)), lines.join('\n'));
    // What this checkout's node_modules allows: in a clean clone (.npmrc omits the build) it is refused; on a
    // machine where the CUDA build loads, the runtime serves on the GPU.
    const unusable = await checkLlamaGpuBuild('cuda').then(() => undefined, (error: Error) => error.message);
    if (unusable) {
      assert.equal(runtime.engine, undefined, 'no engine that would fail every job at load, or run on the CPU');
      assert.equal(runtime.refusal, unusable);
      assert.match(runtime.refusal ?? '', /CUDA build/);
      assert.ok(lines.some((line) => line.includes('"level":50') && line.includes(unusable.slice(0, 40))), 'said in the log as an error');
    } else {
      assert.equal(runtime.state?.().backend.gpu, 'cuda');
    }
  } finally {
    await runtime.engine?.close();
  }
});
