// One pipeline or tensor stage on a provider: a ggml-rpc-server for one job, listening on 127.0.0.1 only (the
// RPC protocol has no authentication; the tunnel is the only way in), supervised: a worker that dies is started
// again, a bounded number of times, and the stage's owner is told so the head reloads it.
import { connect } from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../log/index.js';
import { EngineProcessError, freeLoopbackPort, startEngineProcess, stopEngineProcess, tcpAccepts, waitUntilReady, type EngineProcess } from './engine-process.js';

const WORKER_START_TIMEOUT_MS = 30_000;
export const MAX_WORKER_RESTARTS = 3;

/** A started worker process and the way to open a byte stream to its RPC port. */
export interface LaunchedWorker {
  readonly process: EngineProcess;
  /** Whether its RPC port accepts connections yet. */
  ready(): Promise<boolean>;
  /** A new connection to its RPC port (each tunnel gets its own). */
  connect(): Promise<Duplex>;
  stop(): Promise<void>;
}

/** How a worker is started: directly as a child process, or inside a sandbox without network. */
export interface RpcWorkerLauncher {
  readonly kind: 'process' | 'docker';
  /** The workers' LLAMA_CACHE, when they run with a tensor cache (`ggml-rpc-server -c`): where pre-filled entries go. */
  readonly tensorCacheDir?: string;
  launch(options: { threads: number; jobId?: string }): Promise<LaunchedWorker>;
}

/**
 * Runs ggml-rpc-server as a child process bound to 127.0.0.1 on a free port. With `cacheDir` the worker keeps
 * the tensors heads upload in a local cache (llama.cpp's `-c`), keyed by content hash: a head loading the same
 * model again sends hashes instead of weights.
 */
export function processWorkerLauncher(rpcServer: string, options: { cacheDir?: string; env?: NodeJS.ProcessEnv } = {}): RpcWorkerLauncher {
  const env = { ...(options.env ?? process.env), ...(options.cacheDir ? { LLAMA_CACHE: options.cacheDir } : {}) };
  return {
    kind: 'process',
    ...(options.cacheDir ? { tensorCacheDir: options.cacheDir } : {}),
    launch: async ({ threads }) => {
      const port = await freeLoopbackPort();
      const process = startEngineProcess(rpcServer, ['-H', '127.0.0.1', '-p', String(port), '-t', String(threads), ...(options.cacheDir ? ['-c'] : [])], env);
      return { process, ready: () => tcpAccepts(port), connect: async () => connect({ host: '127.0.0.1', port }), stop: () => stopEngineProcess(process) };
    },
  };
}

export interface RpcWorkerOptions {
  launcher: RpcWorkerLauncher;
  threads: number;
  /** The job the stage belongs to, labelled on a sandbox. */
  jobId?: string;
  logger: Logger;
  /** Called after the worker died and was started again (its tensors are gone). */
  onRestart?: (reason: string) => void;
  /** Called when it died and will not be restarted. */
  onGone?: (reason: string) => void;
  maxRestarts?: number;
}

export class RpcWorker {
  private worker?: LaunchedWorker;
  private stopped = false;
  private restarts = 0;

  private constructor(private readonly options: RpcWorkerOptions) {}

  static async start(options: RpcWorkerOptions): Promise<RpcWorker> {
    const worker = new RpcWorker(options);
    await worker.launch();
    return worker;
  }

  /** The worker's process id (of the sandbox's client for a container), for tests and logs. */
  get pid(): number | undefined {
    return this.worker?.process.child.pid;
  }

  /** A byte stream to the worker's RPC port. */
  async connect(): Promise<Duplex> {
    if (!this.worker || this.stopped) throw new Error('the RPC worker is not running');
    return this.worker.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.worker?.stop();
  }

  private async launch(): Promise<void> {
    // A port taken between choosing and binding makes the worker exit at once: start it again.
    for (let attempt = 0; ; attempt++) {
      const worker = await this.options.launcher.launch({ threads: this.options.threads, ...(this.options.jobId ? { jobId: this.options.jobId } : {}) });
      try {
        await waitUntilReady(worker.process, () => worker.ready(), WORKER_START_TIMEOUT_MS, 'ggml-rpc-server');
      } catch (error) {
        await worker.stop();
        if (attempt < 2 && error instanceof EngineProcessError) continue;
        throw error;
      }
      this.worker = worker;
      void worker.process.exited.then((exit) => this.exited(worker, `ggml-rpc-server exited (${exit.signal ?? `code ${exit.code}`})`));
      return;
    }
  }

  private async exited(worker: LaunchedWorker, reason: string): Promise<void> {
    if (this.stopped || worker !== this.worker) return;
    const limit = this.options.maxRestarts ?? MAX_WORKER_RESTARTS;
    if (this.restarts >= limit) {
      this.options.logger.error({ reason, restarts: this.restarts }, 'RPC worker died too often; stage gone');
      return this.options.onGone?.(`${reason}; not restarted after ${this.restarts} restarts`);
    }
    this.restarts++;
    this.options.logger.warn({ reason, restart: this.restarts, lastOutput: worker.process.lastOutput().slice(-500) }, 'RPC worker died; restarting it');
    try {
      await worker.stop();
      await this.launch();
      if (this.stopped) return void (await this.stop());
      this.options.onRestart?.(reason);
    } catch (error) {
      this.options.onGone?.(`${reason}; restart failed: ${(error as Error).message}`);
    }
  }
}
