// One supervised vLLM OpenAI server per model: started on first use, waited for until /health answers (bounded),
// restarted with a growing pause when it dies, given up after too many deaths in a window, its last error kept for
// the operator, and stopped by its own pid (or container id). How it is started is a launcher: `vllm serve` as a
// child process (sandbox: none, and tests, where a stand-in takes its place), or the `vllm` execution template's
// container (vllm-container.ts).
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { freeLoopbackPort } from '../../processes/index.js';
import { inferenceServerHealthy } from '../server-health.js';
import { VllmServerError } from './vllm-errors.js';

export interface VllmProcessEnd {
  code: number | null;
  signal: string | null;
  /** Why, when the host knows better than the exit code (killed at its memory limit). */
  reason?: string;
}

/** A started vLLM server: where it answers, its last output, and its end. */
export interface VllmProcess {
  /** The pid, or the container id. */
  readonly id: string;
  /** The child's pid, when it is a child process of this one. */
  readonly pid?: number;
  readonly baseUrl: string;
  lastOutput(): string;
  readonly ended: Promise<VllmProcessEnd>;
  hasEnded(): boolean;
  /** Asks it (and the processes it started) to exit, kills them after a grace period; resolves once it is gone. */
  stop(): Promise<void>;
}

export interface LaunchVllmParameters {
  /** The model folder (Hugging Face layout) on the host. */
  modelPath: string;
  servedName: string;
}

export type LaunchVllmProcess = (parameters: LaunchVllmParameters) => Promise<VllmProcess>;

/** `vllm serve`'s arguments beside the model, from the provider's vLLM settings: pure, so the command line is tested. */
export interface VllmServeSettings {
  gpuMemoryUtilization?: number;
  maxModelLength?: number;
  /** Passed as they are, after the ones Infernet sets. */
  extraArgs?: readonly string[];
}

export function vllmServeArguments(servedName: string, host: string, port: number, settings: VllmServeSettings): string[] {
  return [
    '--served-model-name',
    servedName,
    '--host',
    host,
    '--port',
    String(port),
    ...(settings.maxModelLength !== undefined ? ['--max-model-len', String(settings.maxModelLength)] : []),
    ...vllmTuningArguments(settings),
  ];
}

/** The operator's settings that follow what Infernet sets (the container template sets the rest itself). */
export function vllmTuningArguments(settings: Pick<VllmServeSettings, 'gpuMemoryUtilization' | 'extraArgs'>): string[] {
  return [...(settings.gpuMemoryUtilization !== undefined ? ['--gpu-memory-utilization', String(settings.gpuMemoryUtilization)] : []), ...(settings.extraArgs ?? [])];
}

export interface VllmCommandLauncherOptions extends VllmServeSettings {
  /** The program and its leading arguments; the model and the serve arguments follow. Default `vllm serve`. */
  command?: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** Between SIGTERM and SIGKILL on stop. */
  stopGraceMs?: number;
}

const KEPT_OUTPUT_LINES = 40;
/** util-linux's setpriv: the kernel kills the child when this process dies (PR_SET_PDEATHSIG), so no server outlives a killed provider. */
const SETPRIV = '/usr/bin/setpriv';

/** `vllm serve <model>` (or the command given) as a child process on a free loopback port. */
export function vllmCommandLauncher(options: VllmCommandLauncherOptions = {}): LaunchVllmProcess {
  const [program, ...leading] = options.command?.length ? options.command : ['vllm', 'serve'];
  return async ({ modelPath, servedName }) => {
    const port = await freeLoopbackPort();
    const args = [...leading, modelPath, ...vllmServeArguments(servedName, '127.0.0.1', port, options)];
    const [command, argv] = process.platform === 'linux' && existsSync(SETPRIV) ? [SETPRIV, ['--pdeathsig', 'KILL', '--', program!, ...args]] : [program!, args];
    // Its own process group, led by its pid: vLLM runs its engine core (which holds the GPU) and workers as processes
    // of their own, and a server that crashed or was stopped must leave none of them behind for the next to meet.
    const child = spawn(command, argv, { env: options.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const killGroup = (signal: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, signal);
      } catch {
        // ESRCH: the group is gone
      }
    };
    const output = new OutputTail();
    child.stdout!.on('data', (chunk: Buffer) => output.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => output.push(chunk));
    let done = false;
    const ended = new Promise<VllmProcessEnd>((resolve) => {
      child.once('exit', (code, signal) => {
        done = true;
        killGroup('SIGKILL');
        resolve({ code, signal });
      });
      child.once('error', (error) => {
        done = true;
        output.push(Buffer.from(`cannot start ${program}: ${error.message}\n`));
        resolve({ code: null, signal: null });
      });
    });
    return {
      id: `pid ${child.pid ?? '?'}`,
      ...(child.pid !== undefined ? { pid: child.pid } : {}),
      baseUrl: `http://127.0.0.1:${port}`,
      lastOutput: () => output.text(),
      ended,
      hasEnded: () => done,
      stop: async () => {
        if (done) return;
        killGroup('SIGTERM');
        const timer = setTimeout(() => killGroup('SIGKILL'), options.stopGraceMs ?? 10_000);
        await ended;
        clearTimeout(timer);
      },
    };
  };
}

/** The last lines a process wrote, stdout and stderr together, for the error an operator reads. */
export class OutputTail {
  private readonly lines: string[] = [];
  private partial = '';

  push(chunk: Buffer | string): void {
    const parts = (this.partial + chunk.toString()).split('\n');
    this.partial = parts.pop() ?? '';
    this.lines.push(...parts.filter((line) => line.trim()).map((line) => line.slice(0, 500)));
    if (this.lines.length > KEPT_OUTPUT_LINES) this.lines.splice(0, this.lines.length - KEPT_OUTPUT_LINES);
  }

  text(): string {
    return [...this.lines, this.partial.slice(0, 500)].filter(Boolean).join('\n');
  }
}

export type VllmServerState = 'idle' | 'starting' | 'ready' | 'restarting' | 'failed' | 'stopped';

export interface VllmServerStatus {
  modelPath: string;
  state: VllmServerState;
  /** The pid or container id of the server now running, and where it answers. */
  processId?: string;
  baseUrl?: string;
  /** What the server's GET /version answered, once it was ready. */
  version?: string;
  /** Servers started, restarts included. */
  starts: number;
  restarts: number;
  lastError?: { message: string; at: string };
}

export type VllmServerEvent =
  | { type: 'ready'; modelPath: string; processId: string; startMs: number }
  | { type: 'start-failed'; modelPath: string; error: Error; retrying: boolean }
  | { type: 'crashed'; modelPath: string; processId: string; error: Error; restarting: boolean };

export interface VllmServerOptions {
  launch: LaunchVllmProcess;
  modelPath: string;
  servedName: string;
  /** Loading weights and compiling kernels take minutes on a large model. Default 15 minutes. */
  readyTimeoutMs?: number;
  /** The pause before the first restart, doubled after each death in the window, up to restartMaxDelayMs. */
  restartDelayMs?: number;
  restartMaxDelayMs?: number;
  /** More deaths (crashes or failed starts) than this within restartWindowMs: the server is given up. */
  maxDeaths?: number;
  restartWindowMs?: number;
  onEvent?: (event: VllmServerEvent) => void;
}

const HEALTH_POLL_MS = 100;

export class VllmServer {
  private process?: VllmProcess;
  private starting?: Promise<VllmProcess>;
  private state: VllmServerState = 'idle';
  private starts = 0;
  private restarts = 0;
  private deaths: number[] = [];
  private lastError?: { error: Error; at: string };
  private version?: string;
  /** Ends the pause before a restart early when the server is stopped. */
  private wake?: () => void;

  constructor(private readonly options: VllmServerOptions) {}

  get modelPath(): string {
    return this.options.modelPath;
  }

  get servedName(): string {
    return this.options.servedName;
  }

  status(): VllmServerStatus {
    return {
      modelPath: this.options.modelPath,
      state: this.state,
      ...(this.process && !this.process.hasEnded() ? { processId: this.process.id, baseUrl: this.process.baseUrl } : {}),
      ...(this.version ? { version: this.version } : {}),
      starts: this.starts,
      restarts: this.restarts,
      ...(this.lastError ? { lastError: { message: this.lastError.error.message, at: this.lastError.at } } : {}),
    };
  }

  /** The running server once it answers /health: started on the first call, waited for while it restarts. */
  ready(): Promise<VllmProcess> {
    if (this.state === 'stopped') return Promise.reject(new VllmServerError(this.options.modelPath, `the vLLM server for ${this.options.modelPath} was stopped`, ''));
    if (this.state === 'failed') return Promise.reject(this.lastError!.error);
    if (this.state === 'ready' && this.process && !this.process.hasEnded()) return Promise.resolve(this.process);
    if (!this.starting) this.starting = this.startLoop(0);
    return this.starting;
  }

  async stop(): Promise<void> {
    this.state = 'stopped';
    this.wake?.();
    await this.starting?.catch(() => undefined);
    await this.process?.stop();
  }

  private async startLoop(initialDelayMs: number): Promise<VllmProcess> {
    let delay = initialDelayMs;
    for (;;) {
      if (delay > 0) await this.pause(delay);
      if (this.state === 'stopped') throw new VllmServerError(this.options.modelPath, `the vLLM server for ${this.options.modelPath} was stopped`, '');
      this.state = this.starts === 0 ? 'starting' : 'restarting';
      try {
        const process = await this.startOnce();
        this.state = 'ready';
        this.starting = undefined;
        return process;
      } catch (error) {
        const retrying = this.recordDeath(error as Error);
        this.options.onEvent?.({ type: 'start-failed', modelPath: this.options.modelPath, error: error as Error, retrying });
        if (!retrying) {
          this.starting = undefined;
          throw (this.state as VllmServerState) === 'failed' ? this.lastError!.error : error;
        }
        delay = this.nextDelay();
      }
    }
  }

  private async startOnce(): Promise<VllmProcess> {
    const started = performance.now();
    this.starts++;
    const process = await this.options.launch({ modelPath: this.options.modelPath, servedName: this.options.servedName });
    this.process = process;
    const timeoutMs = this.options.readyTimeoutMs ?? 15 * 60_000;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (process.hasEnded()) {
        const end = await process.ended;
        throw new VllmServerError(this.options.modelPath, `the vLLM server for ${this.options.modelPath} (${process.id}) ${howItEnded(end)} before it was ready`, process.lastOutput());
      }
      if (this.state === 'stopped') {
        await process.stop();
        throw new VllmServerError(this.options.modelPath, `the vLLM server for ${this.options.modelPath} was stopped while it started`, '');
      }
      if (await inferenceServerHealthy(process.baseUrl)) break;
      if (Date.now() >= deadline) {
        await process.stop();
        throw new VllmServerError(this.options.modelPath, `the vLLM server for ${this.options.modelPath} (${process.id}) was not ready within ${Math.round(timeoutMs / 1000)} s and was stopped`, process.lastOutput());
      }
      await new Promise((resolve) => setTimeout(resolve, HEALTH_POLL_MS));
    }
    this.version = (await versionOf(process.baseUrl)) ?? this.version;
    this.options.onEvent?.({ type: 'ready', modelPath: this.options.modelPath, processId: process.id, startMs: performance.now() - started });
    void process.ended.then((end) => this.onEnded(process, end));
    return process;
  }

  /** A ready server that died: its error kept, and a restart after a pause unless it died too often. */
  private onEnded(process: VllmProcess, end: VllmProcessEnd): void {
    if (this.state === 'stopped' || process !== this.process) return;
    const error = new VllmServerError(this.options.modelPath, `the vLLM server for ${this.options.modelPath} (${process.id}) ${howItEnded(end)}`, process.lastOutput());
    const restarting = this.recordDeath(error);
    this.options.onEvent?.({ type: 'crashed', modelPath: this.options.modelPath, processId: process.id, error, restarting });
    if (!restarting) return;
    this.restarts++;
    // A job that found the server dead first has already begun the restart.
    if (this.starting) return;
    this.state = 'restarting';
    this.starting = this.startLoop(this.nextDelay());
    // A restart nobody waits for yet must not be an unhandled rejection; ready() hands it to the next job.
    this.starting.catch(() => undefined);
  }

  /** Keeps the error; false (and the server given up) when it died more than maxDeaths times in the window. */
  private recordDeath(error: Error): boolean {
    const now = Date.now();
    this.lastError = { error, at: new Date(now).toISOString() };
    this.deaths = [...this.deaths.filter((at) => now - at < (this.options.restartWindowMs ?? 10 * 60_000)), now];
    if (this.state === 'stopped') return false;
    if (this.deaths.length > (this.options.maxDeaths ?? 5)) {
      this.state = 'failed';
      this.lastError = { error: new VllmServerError(this.options.modelPath, `the vLLM server for ${this.options.modelPath} died ${this.deaths.length} times within its restart window and is not started again: ${error.message}`, '', { cause: error }), at: this.lastError.at };
      return false;
    }
    return true;
  }

  private nextDelay(): number {
    const first = this.options.restartDelayMs ?? 1_000;
    return Math.min(first * 2 ** Math.max(0, this.deaths.length - 1), this.options.restartMaxDelayMs ?? 60_000);
  }

  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}

export function howItEnded(end: VllmProcessEnd): string {
  return end.reason ?? (end.signal ? `was killed by ${end.signal}` : end.code === null ? 'ended' : `exited with code ${end.code}`);
}

/** vLLM's GET /version ({"version": "0.11.0"}); undefined when it does not answer one. */
async function versionOf(baseUrl: string): Promise<string | undefined> {
  try {
    const response = await fetch(`${baseUrl}/version`, { signal: AbortSignal.timeout(2_000) });
    const body = response.ok ? ((await response.json()) as { version?: unknown }) : {};
    return typeof body.version === 'string' && /^[\w.+-]{1,64}$/.test(body.version) ? body.version : undefined;
  } catch {
    return undefined;
  }
}
