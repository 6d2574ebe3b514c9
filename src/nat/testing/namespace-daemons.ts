// Test and benchmark fixture: `infernet` daemons and commands run inside network namespaces (ip netns exec), with
// their config edited the way an operator would edit config.yaml.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';
import type { TopologyHost } from './nat-topology.js';

const INFERNET_BIN = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'bin', 'infernet.js');

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `infernet ARGS` inside the host's namespace (or on this machine when host is undefined). */
export async function infernetIn(host: TopologyHost | undefined, args: string[], timeoutMs = 60_000): Promise<CommandResult> {
  const child = spawnIn(host, args);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const [code] = (await once(child, 'exit')) as [number | null];
  clearTimeout(killer);
  return { code, stdout, stderr };
}

/** `infernet ARGS --json`, parsed; throws with stderr when it fails. */
export async function infernetJson<T>(host: TopologyHost | undefined, args: string[], timeoutMs?: number): Promise<T> {
  const result = await infernetIn(host, [...args, '--json'], timeoutMs);
  if (result.code !== 0) throw new Error(`infernet ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return JSON.parse(result.stdout) as T;
}

/** Merges `patch` into the home's config.yaml (objects merged key by key, everything else replaced). */
export async function patchConfig(home: string, patch: Record<string, unknown>): Promise<void> {
  const file = join(home, 'config.yaml');
  const config = YAML.parse(await readFile(file, 'utf8')) as Record<string, unknown>;
  await writeFile(file, YAML.stringify(merge(config, patch)), { mode: 0o600 });
}

export interface NamespaceDaemon {
  home: string;
  host: TopologyHost;
  process: ChildProcess;
  url: string;
  log(): string;
  /** SIGKILL: the machine loses power. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

/** Starts `infernet start --home HOME` inside the host's namespace; resolves once its daemon.json names a listener. */
export async function startDaemonIn(host: TopologyHost, home: string, timeoutMs = 30_000): Promise<NamespaceDaemon> {
  const stateFile = join(home, 'daemon.json');
  rmSync(stateFile, { force: true });
  const child = spawnIn(host, ['start', '--home', home]);
  let log = '';
  child.stdout!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  const deadline = Date.now() + timeoutMs;
  let url: string | undefined;
  while (url === undefined) {
    if (child.exitCode !== null) throw new Error(`daemon ${home} exited with ${child.exitCode}: ${log.slice(-3000)}`);
    if (Date.now() > deadline) throw new Error(`daemon ${home} did not start: ${log.slice(-3000)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
    try {
      // A client-role node (a relay) has no job listener: its libp2p peer id says it is up.
      const state = existsSync(stateFile) ? (JSON.parse(readFileSync(stateFile, 'utf8')) as { url?: string | null; peerId?: string }) : undefined;
      url = state?.url ?? (state?.peerId ? '' : undefined);
    } catch {
      url = undefined; // replaced while we read it
    }
  }
  const end = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = once(child, 'exit');
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  };
  return { home, host, process: child, url, log: () => log, kill: () => end('SIGKILL'), stop: () => end('SIGTERM') };
}

/**
 * The nodes of one NAT test, each a home under one temporary folder: `start` initialises a home (`infernet init
 * --discovery` with the host's address), merges `patch` into its config.yaml (file storage unless patched) and starts
 * its daemon inside the host's namespace; `close` stops every daemon started and removes the folder.
 */
export class NamespaceNodes {
  readonly daemons: NamespaceDaemon[] = [];

  private constructor(readonly dir: string) {}

  static async create(prefix: string): Promise<NamespaceNodes> {
    return new NamespaceNodes(await mkdtemp(join(tmpdir(), prefix)));
  }

  home(name: string): string {
    return join(this.dir, name);
  }

  async start(host: TopologyHost, name: string, initArgs: string[], patch: Record<string, unknown>): Promise<NamespaceDaemon> {
    const init = await infernetIn(undefined, ['init', '--home', this.home(name), '--host', host.address, '--port', '0', '--discovery', ...initArgs]);
    if (init.code !== 0) throw new Error(`infernet init ${name} exited ${init.code}: ${init.stderr}`);
    await patchConfig(this.home(name), { storage: { backend: 'file' }, ...patch });
    const daemon = await startDaemonIn(host, this.home(name));
    this.daemons.push(daemon);
    return daemon;
  }

  /** The node's daemon.json, which `infernet status` reads: polled directly, a poll costs no CLI start. */
  async state<T>(name: string): Promise<T> {
    return JSON.parse(await readFile(join(this.home(name), 'daemon.json'), 'utf8')) as T;
  }

  async close(): Promise<void> {
    await Promise.all(this.daemons.map((daemon) => daemon.stop()));
    await rm(this.dir, { recursive: true, force: true });
  }
}

/** Polls `check` until it returns a truthy value; the error says what never happened. */
export async function until<T>(check: () => Promise<T | undefined | false>, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      lastError = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${(lastError as Error).message}` : ''}`);
}

function spawnIn(host: TopologyHost | undefined, args: string[]): ChildProcess {
  const argv = [...(host ? ['ip', 'netns', 'exec', host.namespace] : []), process.execPath, INFERNET_BIN, ...args];
  // A daemon's stdin is a pipe from the test: killed outright, the test closes it and the daemon stops (start.ts).
  return spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, INFERNET_STOP_WITH_STDIN: '1' } });
}

function merge(base: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  const out = { ...base };
  for (const [key, value] of Object.entries(patch)) {
    const current = out[key];
    out[key] = isObject(current) && isObject(value) ? merge(current, value) : value;
  }
  return out;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
