import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { spawn } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import type { JobState } from '../jobs/state-machine.js';
import { BackendNotBuiltError, requireBackendBinary } from './backend-binary.js';
import { connectPocketBase } from './pocketbase-connection.js';
import { PocketBaseJobStore } from './pocketbase-job-store.js';
import { BackendAlreadyRunningError, BackendStartError, findRunningBackend, startPocketBase } from './pocketbase-process.js';
import { superuserFilePath } from './superuser-credentials.js';
import { isPidAlive } from '../processes/index.js';
import { openHomePocketBase } from './open-home-pocketbase.js';
import { backendStartLockFile } from './backend-start-lock.js';
import { usePocketBaseFixture } from './test-fixture.js';

const pocketBase = usePocketBaseFixture();

/** The life the crash test drives each job through; a stored state may be ahead of the acknowledged one. */
const LIFE: readonly JobState[] = ['created', 'matched', 'dispatched', 'running', 'completed', 'settled'];

describe('the PocketBase backend process', () => {
  it('keeps the generated superuser in a file only its owner can read', async () => {
    const { home, server } = await pocketBase();
    const saved = JSON.parse(await readFile(superuserFilePath(home), 'utf8')) as { email: string; password: string };
    assert.deepEqual(saved, server.superuser);
    assert.equal((await stat(superuserFilePath(home))).mode & 0o777, 0o600);
  });

  it('reloads every job after a clean stop and start', async () => {
    const fixture = await pocketBase();
    const before = new PocketBaseJobStore(fixture.server.client);
    const jobId = randomUUID();
    await before.create({ jobId, role: 'client', model: 'm', client: 'aa'.repeat(32) });
    await before.transition(jobId, 'client', 'matched', { provider: 'bb'.repeat(32) });
    const expected = await before.get(jobId, 'client');
    await before.close();
    await fixture.restart();
    const after = new PocketBaseJobStore(fixture.server.client);
    assert.deepEqual(await after.get(jobId, 'client'), expected);
    assert.deepEqual(
      (await after.events(jobId)).map((event) => event.to),
      ['created', 'matched'],
    );
    await after.close();
  });

  it('keeps every acknowledged write when it is SIGKILLed mid-stream', async () => {
    const fixture = await pocketBase();
    const store = new PocketBaseJobStore(fixture.server.client);
    const acknowledged = new Map<string, JobState>();
    const lanes = Array.from({ length: 4 }, () => driveJobsUntilFailure(store, acknowledged));
    await waitUntil(() => acknowledged.size >= 40);
    await fixture.crash();
    await Promise.all(lanes);
    await fixture.restart();
    const reopened = new PocketBaseJobStore(fixture.server.client);
    for (const [jobId, state] of acknowledged) {
      const job = await reopened.get(jobId, 'provider');
      assert.ok(job, `acknowledged job ${jobId} is gone`);
      assert.ok(LIFE.indexOf(job.state) >= LIFE.indexOf(state), `job ${jobId} went back from ${state} to ${job.state}`);
      // Event and job are written in one transaction: the last event always names the stored state.
      assert.equal((await reopened.events(jobId)).at(-1)?.to, job.state);
    }
    await reopened.close();
  });

  it('logs in again after the superuser file was replaced, by upserting the superuser it names', async () => {
    const fixture = await pocketBase();
    await fixture.server.stop();
    const replaced = { email: 'node@infernet.local', password: 'replaced-password-0123456789' };
    await writeFile(superuserFilePath(fixture.home), JSON.stringify(replaced), { mode: 0o600 });
    const server = await fixture.restart();
    assert.deepEqual(server.superuser, replaced);
    assert.ok(server.client.authStore.isSuperuser);
  });

  it('creates a superuser whose generated password begins with a dash (once in 64 starts) on fresh data', async () => {
    const home = await mkdtemp(join(tmpdir(), 'infernet-dash-password-'));
    const credentials = { email: 'node@infernet.local', password: '-wmKtJIr0FnxpjulWxfqcRsz527nokD-' };
    await writeFile(superuserFilePath(home), JSON.stringify(credentials), { mode: 0o600 });
    try {
      const server = await startPocketBase({ home });
      assert.ok(server.client.authStore.isSuperuser);
      await server.stop();
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it('serves an external PocketBase through connectPocketBase with the superuser credentials', async () => {
    const { server } = await pocketBase();
    const connection = await connectPocketBase({ url: server.url, superuser: server.superuser });
    const store = new PocketBaseJobStore(connection.client);
    const jobId = randomUUID();
    await store.create({ jobId, role: 'aggregator', model: 'm' });
    assert.equal((await new PocketBaseJobStore(server.client).get(jobId, 'aggregator'))?.state, 'created');
    await store.close();
    await connection.close();
  });

  it('refuses a second backend on a node home whose backend runs, and names its URL', async () => {
    const { home, server } = await pocketBase();
    await assert.rejects(startPocketBase({ home }), (error: unknown) => {
      assert.ok(error instanceof BackendAlreadyRunningError);
      assert.equal(error.running.url, server.url);
      return true;
    });
  });

  it('stops the backend left behind by a node process that was SIGKILLed alone on it, and starts afresh', async () => {
    const home = await mkdtemp(join(tmpdir(), 'infernet-orphan-'));
    const killed = await openHomeInChildProcess(home);
    try {
      const orphan = await findRunningBackend(home);
      assert.ok(orphan, 'the killed process started the backend');
      await killed.kill();
      const replacement = await openHomePocketBase(home);
      assert.equal(isPidAlive(orphan.pid), false, 'the orphan is stopped');
      assert.notEqual((await findRunningBackend(home))?.pid, orphan.pid);
      await replacement.close();
      assert.deepEqual(await backendPidsServing(home), []);
    } finally {
      await killed.kill();
      for (const pid of await backendPidsServing(home)) process.kill(pid, 'SIGKILL');
      await rm(home, { recursive: true, force: true });
    }
  });

  it('keeps the backend for a command still using it when the command that started it closes', async () => {
    const home = await mkdtemp(join(tmpdir(), 'infernet-hand-over-'));
    try {
      const starter = await openHomePocketBase(home); // `infernet jobs`, say
      const user = await openHomePocketBase(home); // a submit that opened the same home meanwhile
      const backend = await findRunningBackend(home);
      await starter.close();
      const store = new PocketBaseJobStore(user.client);
      await store.create({ jobId: randomUUID(), role: 'client', model: 'm' }); // refused on a stopped backend
      assert.equal((await findRunningBackend(home))?.pid, backend?.pid);
      await user.close();
      assert.deepEqual(await backendPidsServing(home), [], 'the last user stops it');
    } finally {
      for (const pid of await backendPidsServing(home)) process.kill(pid, 'SIGKILL');
      await rm(home, { recursive: true, force: true });
    }
  });

  it('hands the backend of a SIGKILLed command over to the one still using it, and a later command joins it', async () => {
    const home = await mkdtemp(join(tmpdir(), 'infernet-killed-owner-'));
    const starter = await openHomeInChildProcess(home);
    try {
      const user = await openHomePocketBase(home);
      const backend = await findRunningBackend(home);
      await starter.kill();
      // A third command now: the backend's starter is gone, but `user` still writes to it.
      const later = await openHomePocketBase(home);
      assert.equal(later.url, user.url);
      assert.equal((await findRunningBackend(home))?.pid, backend?.pid, 'not stopped as an orphan');
      await new PocketBaseJobStore(user.client).create({ jobId: randomUUID(), role: 'client', model: 'm' });
      await later.close();
      assert.deepEqual(await backendPidsServing(home), [backend?.pid]);
      await user.close();
      assert.deepEqual(await backendPidsServing(home), []);
    } finally {
      await starter.kill();
      for (const pid of await backendPidsServing(home)) process.kill(pid, 'SIGKILL');
      await rm(home, { recursive: true, force: true });
    }
  });

  it('runs one backend for two commands opening one node home at the same moment, and leaves none once both close', async () => {
    const home = await mkdtemp(join(tmpdir(), 'infernet-two-starts-'));
    try {
      // Two commands on one home (a daemon and a submit started together): each finds no backend and starts one.
      const opened = await Promise.allSettled([openHomePocketBase(home), openHomePocketBase(home)]);
      const backends = await backendPidsServing(home);
      const connections = opened.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
      await Promise.all(connections.reverse().map((connection) => connection.close()));
      for (const result of opened) assert.equal(result.status, 'fulfilled', result.status === 'rejected' ? String(result.reason) : '');
      assert.equal(backends.length, 1, `one backend on the data, not ${backends.length} (pids ${backends.join(', ')})`);
      assert.equal(new Set(connections.map((connection) => connection.url)).size, 1);
      assert.deepEqual(await backendPidsServing(home), []);
    } finally {
      for (const pid of await backendPidsServing(home)) process.kill(pid, 'SIGKILL');
      await rm(home, { recursive: true, force: true });
    }
  });

  it('takes over the start lock of a process killed while it started the backend', async () => {
    const home = await mkdtemp(join(tmpdir(), 'infernet-stale-lock-'));
    try {
      await writeFile(backendStartLockFile(home), JSON.stringify({ pid: await deadPid() }));
      const backend = await startPocketBase({ home, startTimeoutMs: 10_000 });
      await backend.stop();
      await assert.rejects(stat(backendStartLockFile(home)), /ENOENT/, 'the lock is released after the start');
    } finally {
      await rm(home, { recursive: true, force: true });
    }
  });

  it('refuses to start without a built backend and names the build script', async () => {
    const cacheRoot = await mkdtemp(join(tmpdir(), 'infernet-empty-cache-'));
    await assert.rejects(requireBackendBinary({ cacheRoot }), (error: unknown) => {
      assert.ok(error instanceof BackendNotBuiltError);
      assert.match(error.message, /scripts\/build-backend\.sh/);
      return true;
    });
    await rm(cacheRoot, { recursive: true, force: true });
  });

  it('reports the last output lines of a backend that dies at start', async () => {
    const home = await mkdtemp(join(tmpdir(), 'infernet-broken-'));
    const binary = join(home, 'dying-backend');
    await writeFile(binary, '#!/bin/sh\necho "fatal: the disk is full" >&2\nexit 3\n', { mode: 0o755 });
    await assert.rejects(startPocketBase({ home, binary }), (error: unknown) => {
      assert.ok(error instanceof BackendStartError);
      assert.match(error.message, /the disk is full/);
      return true;
    });
    await rm(home, { recursive: true, force: true });
  });
});

/** Moves new provider jobs through LIFE, recording each acknowledged state, until a write fails. */
async function driveJobsUntilFailure(store: PocketBaseJobStore, acknowledged: Map<string, JobState>): Promise<void> {
  try {
    for (;;) {
      const jobId = randomUUID();
      await store.create({ jobId, role: 'provider', model: 'm' });
      acknowledged.set(jobId, 'created');
      for (const state of LIFE.slice(1)) {
        await store.transition(jobId, 'provider', state);
        acknowledged.set(jobId, state);
      }
    }
  } catch {
    // the backend was killed: the writes in flight were never acknowledged
  }
}

interface HomeOpener {
  /** SIGKILLs the process (once) and waits for it to be gone. */
  kill(): Promise<void>;
}

/** Another process that opens the home's backend (as a command does) and holds it until it is killed. */
async function openHomeInChildProcess(home: string): Promise<HomeOpener> {
  const storage = new URL('./index.js', import.meta.url).href;
  const script = `const { openHomePocketBase } = await import(${JSON.stringify(storage)});
await openHomePocketBase(${JSON.stringify(home)});
process.stdout.write('open\\n');
setInterval(() => undefined, 60_000);`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    child.stdout.once('data', () => resolve());
    void exited.then(() => reject(new Error('the process opening the home exited before opening it')));
  });
  return {
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
}

/** A pid that just exited: no process runs under it (reuse within the test is practically impossible). */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '']);
  await new Promise((resolve) => child.once('exit', resolve));
  return child.pid ?? 0;
}

async function waitUntil(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** The pids of the PocketBase processes serving a home's data, read from /proc (Linux). */
async function backendPidsServing(home: string): Promise<number[]> {
  const dataDir = join(home, 'pocketbase');
  const pids: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const commandLine = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '');
    const args = commandLine.split('\0');
    if (args.includes('serve') && args.includes(dataDir)) pids.push(Number(entry));
  }
  return pids;
}
