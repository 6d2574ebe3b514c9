// The desktop app's daemon: the one already running on the node home, or one it starts and later stops. The
// interface needs the daemon's HTTP API (where it is served and where its WebSocket lives).
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InfernetCommand } from './infernet-command.js';

const DEFAULT_START_TIMEOUT_MS = 60_000;
const POLL_MS = 100;
const KEPT_LOG_CHARS = 8_000;
const STOP_TIMEOUT_MS = 10_000;

export class NodeHomeNotInitializedError extends Error {
  override readonly name = 'NodeHomeNotInitializedError';
  constructor(readonly home: string) {
    super(`${home} is not an Infernet node home: create one with \`infernet init --home ${home} --api-port 0\` (a client or all-in-one node), then open the app again`);
  }
}

export class DaemonWithoutApiError extends Error {
  override readonly name = 'DaemonWithoutApiError';
  constructor(readonly home: string, readonly pid: number) {
    super(`the daemon running on ${home} (pid ${pid}) serves no HTTP API, which the app needs: give it one with \`infernet init --home ${home} --api-port 0 --force\` and restart it`);
  }
}

export class DaemonStartError extends Error {
  override readonly name = 'DaemonStartError';
  constructor(message: string, readonly log: string) {
    super(log.trim() ? `${message}; its last output:\n${log.trim()}` : message);
  }
}

export interface DaemonOnHome {
  pid: number;
  /** The API's base URL, without /v1. */
  api?: string;
}

export interface LocalDaemon {
  apiUrl: string;
  pid: number;
  /** Whether this app started it (and so stops it when it quits). */
  startedHere: boolean;
  stop(): Promise<void>;
}

export interface EnsureDaemonOptions {
  home: string;
  cli: InfernetCommand;
  startTimeoutMs?: number;
}

export function isNodeHome(home: string): boolean {
  return existsSync(join(home, 'config.yaml')) || existsSync(join(home, 'config.json'));
}

/** daemon.json of a daemon whose process is alive; a file left by a crashed daemon reads as none. */
export async function readRunningDaemon(home: string): Promise<DaemonOnHome | undefined> {
  let state: { pid?: unknown; api?: unknown };
  try {
    state = JSON.parse(await readFile(join(home, 'daemon.json'), 'utf8')) as { pid?: unknown; api?: unknown };
  } catch {
    return undefined; // none, or one being replaced this moment
  }
  if (typeof state.pid !== 'number' || !isAlive(state.pid)) return undefined;
  return { pid: state.pid, ...(typeof state.api === 'string' ? { api: state.api } : {}) };
}

export async function ensureDaemon(options: EnsureDaemonOptions): Promise<LocalDaemon> {
  const { home } = options;
  if (!isNodeHome(home)) throw new NodeHomeNotInitializedError(home);
  const running = await readRunningDaemon(home);
  if (running) {
    if (!running.api) throw new DaemonWithoutApiError(home, running.pid);
    return { apiUrl: running.api, pid: running.pid, startedHere: false, stop: async () => undefined };
  }
  return startDaemon(options);
}

async function startDaemon(options: EnsureDaemonOptions): Promise<LocalDaemon> {
  const { home, cli } = options;
  const child = spawn(cli.command, [...cli.args, 'start', '--home', home], { env: cli.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (chunk: Buffer) => (log = (log + chunk.toString()).slice(-KEPT_LOG_CHARS));
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  let spawnError: Error | undefined;
  child.once('error', (error) => (spawnError = error));
  const deadline = Date.now() + (options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS);
  for (;;) {
    if (spawnError) throw new DaemonStartError(`cannot run ${cli.command}: ${spawnError.message}`, log);
    if (child.exitCode !== null || child.signalCode !== null) throw new DaemonStartError(`the daemon for ${home} exited (${child.exitCode ?? child.signalCode}) before it served its API`, log);
    const state = await readRunningDaemon(home);
    if (state && state.pid === child.pid) {
      if (state.api) return { apiUrl: state.api, pid: state.pid, startedHere: true, stop: () => stopChild(child) };
      await stopChild(child);
      throw new DaemonWithoutApiError(home, state.pid);
    }
    if (Date.now() > deadline) {
      await stopChild(child);
      throw new DaemonStartError(`the daemon for ${home} did not serve its API within ${options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS} ms`, log);
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

/** SIGTERM (the daemon stops its jobs and PocketBase cleanly), SIGKILL if it has not exited in time. */
async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = once(child, 'exit');
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_TIMEOUT_MS);
  await exited;
  clearTimeout(timer);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
