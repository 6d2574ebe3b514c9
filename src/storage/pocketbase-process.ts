// Runs the node's PocketBase backend as a child process on 127.0.0.1: a free port, the data under
// <home>/pocketbase, a generated superuser, a health wait with a deadline, and the last log lines kept for the
// error a user sees when it dies.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { access, mkdir, open, readFile, rm, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type PocketBase from 'pocketbase';
import { requireBackendBinary } from './backend-binary.js';
import { withBackendStartLock } from './backend-start-lock.js';
import { addBackendUser, countLiveBackendUsers, otherLiveBackendUsersSync, removeBackendUser, type BackendLease } from './backend-users.js';
import { closeClient, PocketBaseAuthError, superuserClient, type PocketBaseConnection } from './pocketbase-connection.js';
import { loadOrCreateSuperuser, type SuperuserCredentials } from './superuser-credentials.js';
import { freeLoopbackPort, isPidAlive } from '../processes/index.js';
import { InfernetError } from '../errors/index.js';

const DEFAULT_START_TIMEOUT_MS = 20_000;
const DEFAULT_STOP_TIMEOUT_MS = 5_000;
const HEALTH_POLL_MS = 50;
const KEPT_LOG_LINES = 40;
const BIND_ATTEMPTS = 3;

export interface StartPocketBaseOptions {
  /** The node home: data goes to <home>/pocketbase, the superuser to <home>/pocketbase-superuser.json. */
  home: string;
  /** Defaults to the binary scripts/build-backend.sh built for the current backend sources. */
  binary?: string;
  startTimeoutMs?: number;
  /** How long SIGTERM is given before SIGKILL. */
  stopTimeoutMs?: number;
}

export interface PocketBaseExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export interface LocalPocketBase extends PocketBaseConnection {
  readonly dataDir: string;
  readonly pid: number;
  readonly superuser: SuperuserCredentials;
  /** Settles when the process exits, for whatever reason. */
  readonly exited: Promise<PocketBaseExit>;
  /** The process's last output lines, newest last. */
  recentLogs(): string[];
  /** SIGTERM, then SIGKILL after stopTimeoutMs. Same as close(). */
  stop(): Promise<void>;
}

export class BackendStartError extends InfernetError {
  override readonly name = 'BackendStartError';
  constructor(
    reason: string,
    readonly logLines: readonly string[],
    options?: ErrorOptions,
  ) {
    const tail = logLines.length ? `; its last output:\n  ${logLines.join('\n  ')}` : '';
    super('internal', `the PocketBase backend did not start: ${reason}${tail}`, options);
  }
}

export async function startPocketBase(startOptions: StartPocketBaseOptions): Promise<LocalPocketBase> {
  const options = absoluteHome(startOptions);
  // One start at a time on a home: a start that waited here finds the backend the other one started (and is
  // refused with BackendAlreadyRunningError).
  return withBackendStartLock(options.home, startLockTimeoutMs(options), () => startLocked(options));
}

/**
 * The home's backend for one more user: the one that live users share, joined through `join` (which connects to
 * it), or else a new one started. Decided under the home's start lock, so that no last user stops a backend while
 * another joins it; the lease taken is released by the connection's close().
 */
export async function startOrJoinPocketBase(
  startOptions: StartPocketBaseOptions,
  join: (running: RunningBackend) => Promise<PocketBaseConnection>,
): Promise<PocketBaseConnection> {
  const options = absoluteHome(startOptions);
  return withBackendStartLock(options.home, startLockTimeoutMs(options), async () => {
    const running = await findSharedBackend(options.home);
    if (!running) return startLocked(options);
    const lease = await addBackendUser(options.home);
    const stopIfLastOnExit = killOnExitUnlessShared(lease, running.pid);
    try {
      const connection = await join(running);
      return { ...connection, close: async () => {
        process.removeListener('exit', stopIfLastOnExit);
        await connection.close();
        await releaseBackend(lease, options, () => stopBackendProcess(options.home, running, options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS));
      } };
    } catch (error) {
      process.removeListener('exit', stopIfLastOnExit);
      await removeBackendUser(lease);
      throw error;
    }
  });
}

function absoluteHome(options: StartPocketBaseOptions): StartPocketBaseOptions {
  // Absolute, so that the data directory on the backend's command line identifies it (findRunningBackend).
  return { ...options, home: resolve(options.home) };
}

function startLockTimeoutMs(options: StartPocketBaseOptions): number {
  return (options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS) * 2;
}

async function startLocked(options: StartPocketBaseOptions): Promise<LocalPocketBase> {
  const binary = options.binary ?? (await requireBackendBinary());
  const dataDir = join(options.home, 'pocketbase');
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  await stopOrphanedBackend(options.home);
  const { credentials, created } = await loadOrCreateSuperuser(options.home);
  const freshData = !(await exists(join(dataDir, 'data.db')));
  if (created || freshData) await upsertSuperuser(binary, dataDir, credentials);
  for (let attempt = 1; ; attempt++) {
    try {
      return await serve(binary, dataDir, credentials, options);
    } catch (error) {
      // Another process may take the free port between our probe and PocketBase's bind.
      const portTaken = error instanceof BackendStartError && error.logLines.some((l) => /address already in use/i.test(l));
      if (!portTaken || attempt >= BIND_ATTEMPTS) throw error;
    }
  }
}

/**
 * Ends one use of the home's backend: the last live user stops it (`stop`); any other leaves it to the users still
 * there, whichever process started it.
 */
async function releaseBackend(lease: BackendLease, options: StartPocketBaseOptions, stop: () => Promise<void>): Promise<void> {
  await withBackendStartLock(options.home, startLockTimeoutMs(options), async () => {
    await removeBackendUser(lease);
    if ((await countLiveBackendUsers(options.home)) === 0) await stop();
  });
}

/**
 * A process that ends without closing (process.exit, an uncaught error) must not leave its backend running on the
 * data, unless another live process still uses it. SIGKILL cannot be handled: the next open stops such an orphan.
 */
function killOnExitUnlessShared(lease: BackendLease, pid: number): () => void {
  const onExit = (): void => {
    if (otherLiveBackendUsersSync(lease) || !servesHomeSync(pid, lease.home)) return;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };
  process.once('exit', onExit);
  return onExit;
}

/**
 * The backend's `superuser-upsert-stdin` (backend/superuser_from_stdin.go) is PocketBase's `superuser upsert` with
 * the credentials read as JSON from stdin: any local user can read a command line in /proc/<pid>/cmdline, so the
 * password is never an argument (threat model, attack 13). Like `superuser upsert`, it works before the first
 * `serve` (it runs PocketBase's system migrations itself), and PocketBase exits 0 even when a command fails, so
 * success is read from what it prints.
 */
async function upsertSuperuser(binary: string, dataDir: string, credentials: SuperuserCredentials): Promise<void> {
  const child = spawn(binary, ['superuser-upsert-stdin', '--dir', dataDir], { stdio: ['pipe', 'pipe', 'pipe'] });
  const output = captureOutput(child);
  const exit = exitOf(child);
  // A binary that exits without reading stdin closes the pipe: the write error is its exit, reported below.
  child.stdin?.on('error', () => undefined);
  child.stdin?.end(JSON.stringify({ email: credentials.email, password: credentials.password }));
  const exited = await exit;
  const saved = output.lines().some((line) => line.includes('Successfully saved superuser'));
  if (exited.code !== 0 || !saved) throw new BackendStartError(`creating the superuser failed (${describeExit(exited)})`, output.lines());
}

async function serve(
  binary: string,
  dataDir: string,
  credentials: SuperuserCredentials,
  options: StartPocketBaseOptions,
): Promise<LocalPocketBase> {
  const port = await freeLoopbackPort();
  const url = `http://127.0.0.1:${port}`;
  // Its output goes to a file, not to pipes: a backend handed over to another user outlives the process that started
  // it, and Go ends a program whose write to a closed stdout or stderr fails. Its own process group: a Ctrl-C meant
  // for the command that started it does not stop the backend other commands share.
  const output = await openOutputFile(options.home);
  const child = spawn(binary, ['serve', '--http', `127.0.0.1:${port}`, '--dir', dataDir], {
    stdio: ['ignore', output.fd, output.fd],
    detached: true,
  });
  await output.closeHere();
  const exited = exitOf(child);
  const lease = await addBackendUser(options.home);
  const stopIfLastOnExit = killOnExitUnlessShared(lease, child.pid ?? -1);
  void exited.then(() => process.removeListener('exit', stopIfLastOnExit));
  try {
    await waitForHealth(url, exited, options.startTimeoutMs ?? DEFAULT_START_TIMEOUT_MS, output);
    const client = await authenticate(binary, dataDir, url, credentials);
    await writeRunningBackend(options.home, { pid: child.pid ?? -1, ownerPid: process.pid, url });
    return localPocketBase({ url, client, child, dataDir, credentials, exited, output, options, lease, stopIfLastOnExit });
  } catch (error) {
    process.removeListener('exit', stopIfLastOnExit);
    await removeBackendUser(lease);
    await terminate(child, exited, options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS);
    if (error instanceof BackendStartError) throw error;
    throw new BackendStartError(error instanceof Error ? error.message : String(error), output.lines(), { cause: error });
  }
}

/**
 * The credentials file is the truth: when the data directory does not know its superuser (data restored from
 * elsewhere, file regenerated), the superuser is upserted once more and the login tried again.
 */
async function authenticate(binary: string, dataDir: string, url: string, credentials: SuperuserCredentials): Promise<PocketBase> {
  try {
    return await superuserClient(url, credentials);
  } catch (error) {
    if (!(error instanceof PocketBaseAuthError)) throw error;
    await upsertSuperuser(binary, dataDir, credentials);
    return superuserClient(url, credentials);
  }
}

interface LocalParts {
  url: string;
  client: PocketBase;
  child: ChildProcess;
  dataDir: string;
  credentials: SuperuserCredentials;
  exited: Promise<PocketBaseExit>;
  output: CapturedOutput;
  options: StartPocketBaseOptions;
  lease: BackendLease;
  stopIfLastOnExit: () => void;
}

function localPocketBase(parts: LocalParts): LocalPocketBase {
  const stopTimeoutMs = parts.options.stopTimeoutMs ?? DEFAULT_STOP_TIMEOUT_MS;
  const stopChild = async (): Promise<void> => {
    await terminate(parts.child, parts.exited, stopTimeoutMs);
    await forgetRunningBackend(parts.options.home, parts.child.pid ?? -1);
  };
  const endUse = (): void => {
    process.removeListener('exit', parts.stopIfLastOnExit);
  };
  return {
    url: parts.url,
    client: parts.client,
    dataDir: parts.dataDir,
    pid: parts.child.pid ?? -1,
    superuser: parts.credentials,
    exited: parts.exited,
    recentLogs: () => parts.output.lines(),
    stop: async () => {
      endUse();
      await closeClient(parts.client);
      await removeBackendUser(parts.lease);
      await stopChild();
    },
    close: async () => {
      endUse();
      await closeClient(parts.client);
      // Handed over when others still use it: it keeps running after this process is gone.
      await releaseBackend(parts.lease, parts.options, stopChild);
    },
  };
}

async function waitForHealth(
  url: string,
  exited: Promise<PocketBaseExit>,
  timeoutMs: number,
  output: CapturedOutput,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let exit: PocketBaseExit | undefined;
  void exited.then((e) => (exit = e));
  while (Date.now() < deadline) {
    if (exit) throw new BackendStartError(`the process exited (${describeExit(exit)})`, output.lines());
    if (await isHealthy(url)) return;
    await sleep(HEALTH_POLL_MS);
  }
  throw new BackendStartError(`${url}/api/health did not answer 200 within ${timeoutMs} ms`, output.lines());
}

async function isHealthy(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(1_000) });
    await response.body?.cancel();
    return response.status === 200;
  } catch {
    return false; // not listening yet
  }
}

async function terminate(child: ChildProcess, exited: Promise<PocketBaseExit>, timeoutMs: number): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  child.kill('SIGTERM');
  const timedOut = Symbol('timed out');
  // Aborted once the process is gone, or the pending timer would keep Node alive for the whole timeout.
  const timer = new AbortController();
  const result = await Promise.race([exited, sleep(timeoutMs, timedOut, { signal: timer.signal }).catch(() => undefined)]);
  timer.abort();
  if (result !== timedOut) return;
  child.kill('SIGKILL');
  await exited;
}

interface CapturedOutput {
  lines(): string[];
}

interface OutputFile extends CapturedOutput {
  readonly fd: number;
  /** Closes this process's copy of the descriptor once the child holds its own. */
  closeHere(): Promise<void>;
}

/** <home>/pocketbase.log, begun afresh at each start (no live user needs the old one); its last lines are kept for errors. */
async function openOutputFile(home: string): Promise<OutputFile> {
  const path = join(home, 'pocketbase.log');
  const handle = await open(path, 'w', 0o600);
  return {
    fd: handle.fd,
    closeHere: () => handle.close(),
    lines: () => lastLines(path),
  };
}

/** Keeps the last lines of a short command's stdout and stderr together. */
function captureOutput(child: ChildProcess): CapturedOutput {
  const kept: string[] = [];
  const partial = { stdout: '', stderr: '' };
  for (const stream of ['stdout', 'stderr'] as const) {
    child[stream]?.setEncoding('utf8');
    child[stream]?.on('data', (chunk: string) => {
      const pieces = (partial[stream] + chunk).split('\n');
      partial[stream] = pieces.pop() ?? '';
      kept.push(...pieces.filter((line) => line.trim() !== ''));
      kept.splice(0, Math.max(0, kept.length - KEPT_LOG_LINES));
    });
  }
  return { lines: () => [...kept, ...[partial.stdout, partial.stderr].filter((line) => line.trim() !== '')] };
}

/** The last output lines, stdout and stderr together: PocketBase prints its fatal errors on either. */
function lastLines(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    return [];
  }
  return text.slice(-64 * 1024).split('\n').filter((line) => line.trim() !== '').slice(-KEPT_LOG_LINES);
}

/** Settles on 'close', after the output pipes drained, so the kept lines include the last words of a crash. */
function exitOf(child: ChildProcess): Promise<PocketBaseExit> {
  return new Promise((resolve) => {
    child.once('error', () => resolve({ code: null, signal: null })); // spawn failed: nothing will run
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
}

function describeExit(exit: PocketBaseExit): string {
  if (exit.signal) return `killed by ${exit.signal}`;
  return exit.code === null ? 'could not be spawned' : `exit code ${exit.code}`;
}


/** Which backend runs on a node home, so that a second start finds it instead of opening the data twice. */
export interface RunningBackend {
  pid: number;
  /** The process that started it. */
  ownerPid: number;
  url: string;
}

export class BackendAlreadyRunningError extends InfernetError {
  override readonly name = 'BackendAlreadyRunningError';
  constructor(readonly running: RunningBackend) {
    super('internal', 
      `a PocketBase backend (pid ${running.pid}, started by pid ${running.ownerPid}) already serves this node home at ` +
        `${running.url}: connect to it with connectPocketBase instead of starting another`,
    );
  }
}

function runningBackendFile(home: string): string {
  return join(home, 'pocketbase-process.json');
}

async function writeRunningBackend(home: string, running: RunningBackend): Promise<void> {
  await writeFile(runningBackendFile(home), JSON.stringify(running) + '\n', { mode: 0o600 });
}

/** Removes the record of a backend that stopped, unless it already names a newer one. */
async function forgetRunningBackend(home: string, pid: number): Promise<void> {
  if ((await readRunningBackend(home))?.pid === pid) await rm(runningBackendFile(home), { force: true });
}

async function readRunningBackend(home: string): Promise<RunningBackend | undefined> {
  const text = await readFile(runningBackendFile(home), 'utf8').catch(() => '');
  let running: Partial<RunningBackend>;
  try {
    running = JSON.parse(text) as Partial<RunningBackend>;
  } catch {
    return undefined; // no file, or one torn by a crash: nothing recorded
  }
  const { pid, ownerPid, url } = running;
  if (typeof pid !== 'number' || typeof ownerPid !== 'number' || typeof url !== 'string') return undefined;
  return { pid, ownerPid, url };
}

function servesHomeSync(pid: number, home: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').includes(join(home, 'pocketbase'));
  } catch {
    return !existsSync('/proc/self'); // gone; or no /proc at all, where the pid is all there is to go by
  }
}

/** The backend started on this home that still runs (checked through /proc on Linux), if any. */
export async function findRunningBackend(home: string): Promise<RunningBackend | undefined> {
  const running = await readRunningBackend(home);
  if (!running) return undefined;
  // The pid may have been reused by an unrelated process since: it must still be our backend on this data.
  const commandLine = await readFile(`/proc/${running.pid}/cmdline`, 'utf8').catch(() => '');
  return commandLine.split('\0').includes(join(resolve(home), 'pocketbase')) ? running : undefined;
}

/** The backend running on this home that a live process uses (the daemon, another command), if any. */
export async function findSharedBackend(home: string): Promise<RunningBackend | undefined> {
  const running = await findRunningBackend(home);
  return running && (await countLiveBackendUsers(home)) > 0 ? running : undefined;
}

/**
 * A node SIGKILLed with nobody else on its backend leaves that backend running on the same data: stop it. One that
 * a live process still uses (this one included) is refused with BackendAlreadyRunningError.
 */
async function stopOrphanedBackend(home: string): Promise<void> {
  const running = await findRunningBackend(home);
  if (!running) return;
  if ((await countLiveBackendUsers(home)) > 0) throw new BackendAlreadyRunningError(running);
  await stopBackendProcess(home, running, DEFAULT_STOP_TIMEOUT_MS);
}

/** Stops a backend that may not be this process's child: SIGTERM, then SIGKILL after `timeoutMs`. */
async function stopBackendProcess(home: string, running: RunningBackend, timeoutMs: number): Promise<void> {
  // Found earlier (a joined backend, hours ago maybe): a pid the kernel has since given to another process is left be.
  if (!servesHomeSync(running.pid, home)) return forgetRunningBackend(home, running.pid);
  signal(running.pid, 'SIGTERM');
  for (let waited = 0; waited < timeoutMs && isPidAlive(running.pid); waited += HEALTH_POLL_MS) {
    await sleep(HEALTH_POLL_MS);
  }
  if (isPidAlive(running.pid)) signal(running.pid, 'SIGKILL');
  await forgetRunningBackend(home, running.pid);
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // already gone
  }
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
