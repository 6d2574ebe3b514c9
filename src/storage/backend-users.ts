// Who uses a node home's backend now. Every open of the home's PocketBase (the daemon's stores, a submit, `infernet
// jobs`) leaves a lease naming its process; the backend runs while one of them is live, whoever started it. Before,
// the process that started the backend stopped it when it closed, and a command SIGKILLed while another still used
// its backend left that backend to be stopped as an orphan by the next command: both cut the other user off.
// Callers hold the home's start lock (backend-start-lock.ts) while they add, count or remove leases, so a backend is
// never stopped by its last user while a new one joins it.
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { currentProcessIdentity, isProcessRunning, type ProcessIdentity } from '../processes/index.js';

/** One open of the home's backend by this process. */
export interface BackendLease {
  readonly home: string;
  readonly file: string;
}

function usersDir(home: string): string {
  return join(home, 'pocketbase-users');
}

/** Records this process as a user of the home's backend until release(). */
export async function addBackendUser(home: string): Promise<BackendLease> {
  await mkdir(usersDir(home), { recursive: true, mode: 0o700 });
  const file = join(usersDir(home), `${process.pid}-${randomUUID()}.json`);
  await writeFile(file, JSON.stringify(currentProcessIdentity()), { mode: 0o600 });
  return { home, file };
}

export async function removeBackendUser(lease: BackendLease): Promise<void> {
  await rm(lease.file, { force: true });
}

/** How many leases name a process that still runs; those of processes gone (SIGKILLed, say) are removed. */
export async function countLiveBackendUsers(home: string): Promise<number> {
  const names = await readdir(usersDir(home)).catch(() => [] as string[]);
  let live = 0;
  for (const name of names) {
    const file = join(usersDir(home), name);
    const holder = parseIdentity(await readFile(file, 'utf8').catch(() => ''));
    if (holder && isProcessRunning(holder)) live += 1;
    else await rm(file, { force: true });
  }
  return live;
}

/**
 * For a process ending without closing (an `exit` handler cannot wait): whether a live process other than this
 * one still holds a lease. Its own lease is removed on the way.
 */
export function otherLiveBackendUsersSync(lease: BackendLease): boolean {
  rmSync(lease.file, { force: true });
  let names: string[];
  try {
    names = readdirSync(usersDir(lease.home));
  } catch {
    return false;
  }
  return names.some((name) => {
    let text = '';
    try {
      text = readFileSync(join(usersDir(lease.home), name), 'utf8');
    } catch {
      return false;
    }
    const holder = parseIdentity(text);
    return holder !== undefined && holder.pid !== process.pid && isProcessRunning(holder);
  });
}

function parseIdentity(text: string): ProcessIdentity | undefined {
  try {
    const value = JSON.parse(text) as Partial<ProcessIdentity>;
    if (typeof value.pid !== 'number') return undefined;
    return { pid: value.pid, ...(typeof value.start === 'string' ? { start: value.start } : {}) };
  } catch {
    return undefined; // torn by a crash mid-write: nobody to go by
  }
}
