// One start of a node home's backend at a time. Two commands opening one home together (a daemon and a submit,
// say) each found no backend and started their own on the same data: the second's migrations then failed on the
// locked database, or both ran and the record of one was overwritten by the other, which outlived its owner. The
// lock is a file created exclusively; one left by a process that died mid-start is taken over.
import { readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { currentProcessIdentity, isProcessRunning, type ProcessIdentity } from '../processes/index.js';
import { InfernetError } from '../errors/index.js';

const POLL_MS = 50;
/** A lock file that is still empty this long after its creation was left by a process killed as it wrote it. */
const TORN_LOCK_MS = 2_000;

export class BackendStartLockError extends InfernetError {
  override readonly name = 'BackendStartLockError';
  constructor(message: string) {
    super('internal', message);
  }
}

export function backendStartLockFile(home: string): string {
  return join(home, 'pocketbase-start.lock');
}

/** Runs `work` (the backend's start) while this process alone starts a backend on `home`; waits up to `timeoutMs` for another. */
export async function withBackendStartLock<T>(home: string, timeoutMs: number, work: () => Promise<T>): Promise<T> {
  await acquire(backendStartLockFile(home), timeoutMs);
  try {
    return await work();
  } finally {
    await rm(backendStartLockFile(home), { force: true });
  }
}

async function acquire(path: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await writeFile(path, JSON.stringify(currentProcessIdentity()), { flag: 'wx', mode: 0o600 });
      return;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
    const holder = await readHolder(path);
    if (holder === 'gone') continue;
    if (holder === 'stale') {
      await rm(path, { force: true });
      continue;
    }
    if (Date.now() >= deadline) {
      throw new BackendStartLockError(`process ${holder === 'writing' ? '(unknown)' : holder.pid} has been starting this node home's backend for over ${timeoutMs} ms; if it hangs, stop it`);
    }
    await sleep(POLL_MS);
  }
}

/** Who holds the lock: a process still running, one that died (stale), one still writing it, or nobody now. */
async function readHolder(path: string): Promise<ProcessIdentity | 'stale' | 'writing' | 'gone'> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    return 'gone';
  }
  try {
    const holder = JSON.parse(text) as ProcessIdentity;
    if (typeof holder.pid === 'number') return isProcessRunning(holder) ? holder : 'stale';
  } catch {
    // created, not yet written: its writer is between the two steps of writeFile, or was killed there
  }
  const created = await stat(path).then((info) => info.mtimeMs, () => 0);
  return Date.now() - created > TORN_LOCK_MS ? 'stale' : 'writing';
}
