import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { isPidAlive } from '../../processes/index.js';
import { SamplingParams } from '../../protocol/index.js';
import { VllmDeadlineError, VllmServerCrashedError, VllmServerError } from './vllm-errors.js';
import { vllmCommandLauncher, vllmServeArguments, VllmServer, type VllmProcess } from './vllm-server.js';
import { eventually, STAND_IN_COMMAND, standInEngine } from './vllm-test-support.js';

const model = '/models/stand-in-model';
const sampling = SamplingParams.parse({ maxTokens: 8 });
const pidOf = (processId: string | undefined) => Number(/^pid (\d+)$/.exec(processId ?? '')?.[1]);

describe('VllmServer supervising a stand-in vLLM server (a real child process in place of vllm serve)', () => {
  it('waits until /health answers before the first job, and stops the server by its own pid', async () => {
    const engine = standInEngine({ env: { VLLM_STAND_IN_STARTUP_MS: '400' } });
    try {
      await engine.preload(model);
      const status = engine.status()[0]!;
      assert.equal(status.state, 'ready');
      const pid = pidOf(status.processId);
      assert.ok(isPidAlive(pid));
      assert.equal((await engine.generate({ modelPath: model, input: { prompt: 'ready' }, sampling })).tokenIds.length, 8);
      await engine.close();
      assert.equal(isPidAlive(pid), false);
    } finally {
      await engine.close();
    }
  });

  it('restarts a server killed with SIGKILL: the job in flight fails with a clear error, the next job succeeds on the new server', async () => {
    const events: string[] = [];
    const engine = standInEngine({ env: { VLLM_STAND_IN_TOKEN_DELAY_MS: '30' }, onEvent: (event) => events.push(event.type) });
    try {
      await engine.preload(model);
      const first = pidOf(engine.status()[0]!.processId);
      let firstPiece!: () => void;
      const streaming = new Promise<void>((resolve) => (firstPiece = resolve));
      const inFlight = engine.generate({ modelPath: model, input: { prompt: 'in flight' }, sampling: SamplingParams.parse({ maxTokens: 2000 }), onText: () => firstPiece() });
      await Promise.race([streaming, inFlight]); // the job streams (a job that ended first fails the assertion below)
      process.kill(first, 'SIGKILL');
      await assert.rejects(inFlight, (error) => error instanceof VllmServerCrashedError && error.code === 'engine_failed' && /was killed by SIGKILL during the job; it is restarted/.test(error.message));
      const result = await engine.generate({ modelPath: model, input: { prompt: 'after the crash' }, sampling });
      assert.equal(result.tokenIds.length, 8);
      const status = engine.status()[0]!;
      assert.equal(status.state, 'ready');
      assert.equal(status.restarts, 1);
      assert.equal(status.starts, 2);
      assert.notEqual(pidOf(status.processId), first);
      assert.match(status.lastError!.message, /was killed by SIGKILL/);
      assert.deepEqual(events, ['ready', 'crashed', 'ready']);
    } finally {
      await engine.close();
    }
  });

  it("kills the processes a crashed server leaves behind (vLLM's engine core) before it starts the next", async () => {
    const processes: VllmProcess[] = [];
    const launch = vllmCommandLauncher({ command: STAND_IN_COMMAND, env: { ...process.env, VLLM_STAND_IN_WORKER: '1' }, stopGraceMs: 1000 });
    // Waits on the supervisor's own events, not on a poll that a loaded machine outlasts.
    let readies = 0;
    let secondReady!: () => void;
    const restarted = new Promise<void>((resolve) => (secondReady = resolve));
    const server = new VllmServer({
      launch: async (parameters) => processes[processes.push(await launch(parameters)) - 1]!,
      modelPath: model,
      servedName: 'stand-in-model',
      restartDelayMs: 20,
      readyTimeoutMs: 60_000,
      onEvent: (event) => void (event.type === 'ready' && ++readies === 2 && secondReady()),
    });
    const workerOf = (started: VllmProcess) => Number(/stand-in worker pid (\d+)/.exec(started.lastOutput())?.[1]);
    try {
      const first = await server.ready();
      const worker = workerOf(first);
      assert.ok(isRunning(worker));
      process.kill(first.pid!, 'SIGKILL');
      await restarted;
      assert.equal(processes.length, 2);
      // Killed before the next server started; a killed process reads as gone once it is a zombie, before its reaping.
      assert.ok(await eventually(async () => !isRunning(worker), 40), "the first server's worker is gone");
      const second = workerOf(processes[1]!);
      await server.stop();
      assert.ok(await eventually(async () => !isRunning(second), 40), 'stopping the server stops its worker too');
    } finally {
      await server.stop();
    }
  });

  it('gives a server that keeps dying at start up after a bounded number of tries, keeping its last output for the operator', async () => {
    const server = new VllmServer({
      launch: vllmCommandLauncher({ command: STAND_IN_COMMAND, env: { ...process.env, VLLM_STAND_IN_EXIT_AT_START: 'CUDA out of memory' } }),
      modelPath: model,
      servedName: 'stand-in-model',
      restartDelayMs: 20,
      maxDeaths: 2,
    });
    try {
      await assert.rejects(server.ready(), (error) => error instanceof VllmServerError && /died 3 times/.test(error.message) && /CUDA out of memory/.test(error.message));
      const status = server.status();
      assert.equal(status.state, 'failed');
      assert.equal(status.starts, 3);
      assert.match(status.lastError!.message, /exited with code 3 before it was ready/);
      await assert.rejects(server.ready(), VllmServerError, 'a given-up server is not started again by the next job');
      assert.equal(server.status().starts, 3);
    } finally {
      await server.stop();
    }
  });

  it('stops a server not ready within its start timeout, and says so', async () => {
    let pid = 0;
    const launch = vllmCommandLauncher({ command: STAND_IN_COMMAND, env: { ...process.env, VLLM_STAND_IN_STARTUP_MS: '60000' }, stopGraceMs: 1000 });
    const server = new VllmServer({
      launch: async (parameters) => {
        const started = await launch(parameters);
        pid = started.pid!;
        return started;
      },
      modelPath: model,
      servedName: 'stand-in-model',
      readyTimeoutMs: 1000,
      maxDeaths: 0,
    });
    try {
      await assert.rejects(server.ready(), (error) => error instanceof VllmServerError && /was not ready within 1 s and was stopped/.test(error.message));
      assert.ok(pid > 0);
      assert.equal(isPidAlive(pid), false);
    } finally {
      await server.stop();
    }
  });
});

describe('VllmServer stopped while its stand-in vLLM server (a real child process) is still loading', () => {
  it("fails a job waiting for the server at the job's deadline, and stops the loading server by its pid", async () => {
    let pid = 0;
    const engine = standInEngine({ env: { VLLM_STAND_IN_STARTUP_MS: '60000' }, onEvent: () => undefined });
    try {
      await assert.rejects(engine.generate({ modelPath: model, input: { prompt: 'late' }, sampling, deadlineMs: 300 }), (error) => error instanceof VllmDeadlineError);
      pid = pidOf(engine.status()[0]!.processId);
      assert.ok(isPidAlive(pid), 'still loading for the next job');
    } finally {
      await engine.close();
    }
    assert.equal(isPidAlive(pid), false);
    assert.equal(engine.status().length, 0);
  });
});

describe("vllm serve's arguments", () => {
  it('name the model, bind loopback on the chosen port, then the operator settings', () => {
    assert.deepEqual(vllmServeArguments('qwen', '127.0.0.1', 8123, {}), ['--served-model-name', 'qwen', '--host', '127.0.0.1', '--port', '8123']);
    assert.deepEqual(vllmServeArguments('qwen', '127.0.0.1', 8123, { gpuMemoryUtilization: 0.8, maxModelLength: 4096, extraArgs: ['--enforce-eager'] }), [
      '--served-model-name',
      'qwen',
      '--host',
      '127.0.0.1',
      '--port',
      '8123',
      '--max-model-len',
      '4096',
      '--gpu-memory-utilization',
      '0.8',
      '--enforce-eager',
    ]);
  });
});

/** Whether a process runs: alive and not a zombie waiting to be reaped (/proc/<pid>/stat's state Z). */
function isRunning(pid: number): boolean {
  if (!isPidAlive(pid)) return false;
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false; // gone between the two looks
  }
}
