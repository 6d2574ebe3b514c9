// The separate llama.cpp processes (ggml-rpc-server workers, the llama-server head): started on a port of
// ours, waited for, their last output kept for the error a user reads, and stopped for certain.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { InfernetError } from '../errors/index.js';

export { freeLoopbackPort } from '../processes/index.js';

const KEPT_OUTPUT_LINES = 40;
const POLL_MS = 50;

export class EngineProcessError extends InfernetError {
  override readonly name = 'EngineProcessError';
  constructor(
    readonly program: string,
    message: string,
    readonly lastOutput: string,
    options?: { cause?: unknown },
  ) {
    super('engine_failed', lastOutput ? `${message}; last output:\n${lastOutput}` : message, options);
  }
}

export interface EngineProcess {
  readonly child: ChildProcess;
  readonly program: string;
  /** The last lines it wrote, stdout and stderr together. */
  lastOutput(): string;
  /** Resolves with the exit code (or signal) once it has exited. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  hasExited(): boolean;
}

/**
 * A program running somewhere: a child process (runningProgramOf) or a container (llama-server-container.ts).
 * What waitUntilReady watches.
 */
export interface RunningProgram {
  /** Its name, for errors. */
  readonly program: string;
  hasExited(): boolean;
  /** Resolves, once it has exited, with how ("code 1", "SIGKILL", "was killed at its memory limit"). */
  readonly exited: Promise<string>;
  lastOutput(): string;
  stop(): Promise<void>;
}

/** A child process as a RunningProgram, stopped by stopEngineProcess. */
export function runningProgramOf(process: EngineProcess): RunningProgram {
  return {
    program: process.program,
    hasExited: () => process.hasExited(),
    exited: process.exited.then(({ code, signal }) => signal ?? `code ${code}`),
    lastOutput: () => process.lastOutput(),
    stop: () => stopEngineProcess(process),
  };
}

/** util-linux's setpriv, which makes the kernel kill a child when its parent dies (prctl PR_SET_PDEATHSIG). */
const SETPRIV = '/usr/bin/setpriv';

export function startEngineProcess(program: string, args: string[], env: NodeJS.ProcessEnv = process.env): EngineProcess {
  // A provider killed outright must not leave a worker listening or a head holding a model: where the kernel can
  // tie the child's life to ours, it does.
  const [command, argv] = process.platform === 'linux' && existsSync(SETPRIV) ? [SETPRIV, ['--pdeathsig', 'KILL', '--', program, ...args]] : [program, args];
  const child = spawn(command, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let partial = '';
  const keep = (chunk: Buffer) => {
    const text = partial + chunk.toString('utf8');
    const parts = text.split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts);
    if (lines.length > KEPT_OUTPUT_LINES) lines.splice(0, lines.length - KEPT_OUTPUT_LINES);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  let done = false;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      done = true;
      resolve({ code, signal });
    });
    child.once('error', (error) => {
      done = true;
      lines.push(`cannot start ${program}: ${error.message}`);
      resolve({ code: null, signal: null });
    });
  });
  return { child, program, exited, hasExited: () => done, lastOutput: () => [...lines, partial].filter(Boolean).join('\n') };
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopEngineProcess(process: EngineProcess, graceMs = 2_000): Promise<void> {
  if (process.hasExited()) return;
  process.child.kill('SIGTERM');
  const timer = setTimeout(() => process.child.kill('SIGKILL'), graceMs);
  await process.exited;
  clearTimeout(timer);
}

/**
 * Waits until `check` resolves true; stops the program and throws when it exits first or the deadline passes, with
 * its last output.
 */
export async function waitUntilReady(target: EngineProcess | RunningProgram, check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const running = 'child' in target ? runningProgramOf(target) : target;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (running.hasExited()) throw new EngineProcessError(running.program, `${what} exited before it was ready (${await running.exited})`, running.lastOutput());
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  await running.stop();
  throw new EngineProcessError(running.program, `${what} was not ready within ${timeoutMs} ms`, running.lastOutput());
}

export function tcpAccepts(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
