// Runs the real `infernet` command as separate processes, the way a user and the checks outside the tests do.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { stopChildProcess } from '../../src/processes/index.js';

export const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const INFERNET_BIN = join(REPO_ROOT, 'bin', 'infernet.js');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export async function runCli(args: string[], options: { env?: NodeJS.ProcessEnv; timeoutMs?: number; signalAfterMs?: number } = {}): Promise<CliResult> {
  const child = spawn(process.execPath, [INFERNET_BIN, ...args], { env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(killer);
  return { code, stdout, stderr };
}

export interface RunningDaemon {
  process: ChildProcess;
  url: string;
  /** The OpenAI-compatible API's base URL, when the node serves one. */
  api: string | null;
  npub: string;
  log: () => string;
  stop: (signal?: NodeJS.Signals) => Promise<number | null>;
}

/**
 * Starts `infernet start --home DIR` and waits until its daemon.json names a listening URL, or with `until: 'api'`
 * (a client node, which listens for no peers) the URL of its HTTP API.
 */
export async function startDaemon(home: string, options: { until?: 'listening' | 'api'; cpus?: string } = {}): Promise<RunningDaemon> {
  // Its stdin is a pipe from this process: if this process is killed outright, the daemon sees it close and stops.
  // With `cpus` (a taskset list such as "0"), the daemon runs on those cores only: taskset execs it, so the pid is its.
  const command = [process.execPath, INFERNET_BIN, 'start', '--home', home];
  const [file, ...args] = options.cpus ? ['taskset', '-c', options.cpus, ...command] : command;
  const child = spawn(file!, args, { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, INFERNET_STOP_WITH_STDIN: '1' } });
  let log = '';
  child.stdout!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const stateFile = join(home, 'daemon.json');
  const deadline = Date.now() + 60_000;
  // A daemon killed earlier leaves its daemon.json behind: wait for the one this process writes.
  const written = (): boolean => {
    if (!existsSync(stateFile)) return false;
    try {
      const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { url: string | null; api?: string; pid: number };
      return state.pid === child.pid && Boolean(options.until === 'api' ? state.api : state.url);
    } catch {
      return false; // replaced while we read it
    }
  };
  while (!written()) {
    if (child.exitCode !== null) throw new Error(`daemon for ${home} exited with ${child.exitCode}: ${log}`);
    if (Date.now() > deadline) {
      // Given up on: stopped here by its pid (SIGTERM lets it stop its PocketBase), not left running.
      await stopChildProcess(child, 10_000);
      throw new Error(`daemon for ${home} did not start: ${log}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as { url: string; api?: string; npub: string };
  return {
    process: child,
    url: state.url,
    api: state.api ?? null,
    npub: state.npub,
    log: () => log,
    stop: async (signal = 'SIGTERM') => {
      // A process killed by a signal has exitCode null but signalCode set: it will emit no further 'exit'.
      if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
      child.kill(signal);
      const [code] = (await once(child, 'exit')) as [number | null];
      return code;
    },
  };
}

/** Polls until `check` holds, for conditions another process brings about. */
export async function eventually(check: () => boolean | Promise<boolean>, timeoutMs = 10_000, what = 'condition'): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A TCP port free on 127.0.0.1 now, for daemons that must come back on the same address after a restart. */
export { freeLoopbackPort as freePort } from '../../src/processes/index.js';
