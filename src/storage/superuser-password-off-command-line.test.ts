// Threat model attack 13: any local user can read /proc/<pid>/cmdline, so the superuser password must never be
// an argument of a process the node starts (the PocketBase backend, or the command that creates its superuser).
import assert from 'node:assert/strict';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { requireBackendBinary } from './backend-binary.js';
import { PocketBaseJobStore } from './pocketbase-job-store.js';
import { startPocketBase } from './pocketbase-process.js';
import { superuserFilePath } from './superuser-credentials.js';

const PASSWORD = 'attack13-secret-password-0123456789';
const CREDENTIALS = { email: 'node@infernet.local', password: PASSWORD };
const PROC_POLL_MS = 2;

describe('the superuser password and the command line', () => {
  it('never passes the password as an argument of any process the node starts, and the store still works', async () => {
    const home = await mkdtemp(join(tmpdir(), 'infernet-argv-'));
    // Every execution of the backend writes its arguments to a file, then becomes the real binary (exec keeps
    // the pid and the command line): a record of each argv that does not depend on catching it in /proc.
    const argvLog = join(home, 'argv.log');
    const binary = join(home, 'recording-backend');
    await writeFile(binary, `#!/bin/sh\nprintf '%s\\n' "$*" >> '${argvLog}'\nexec '${await requireBackendBinary()}' "$@"\n`, { mode: 0o755 });
    await writeFile(superuserFilePath(home), JSON.stringify(CREDENTIALS), { mode: 0o600 });
    const watcher = watchChildren();
    try {
      // Fresh data: the superuser is created before serve.
      const first = await startPocketBase({ home, binary });
      await first.stop();
      // A replaced credentials file: the superuser is upserted again while serve runs.
      const replaced = { email: CREDENTIALS.email, password: `${PASSWORD}-replaced` };
      await writeFile(superuserFilePath(home), JSON.stringify(replaced), { mode: 0o600 });
      const server = await startPocketBase({ home, binary });
      try {
        assert.ok(server.client.authStore.isSuperuser);
        const store = new PocketBaseJobStore(server.client);
        await store.create({ jobId: 'argv-job', role: 'client', model: 'm' });
        assert.equal((await store.get('argv-job', 'client'))?.state, 'created');
      } finally {
        await server.stop();
      }
      const seen = await watcher.stop();
      const argvs = (await readFile(argvLog, 'utf8')).trim().split('\n');
      assert.ok(argvs.length >= 3, `expected an upsert, a serve and an upsert again, got ${JSON.stringify(argvs)}`);
      for (const argv of argvs) assert.ok(!argv.includes(PASSWORD), `the password is on a command line: ${argv}`);
      assert.ok(seen.length > 0, 'no child process was seen in /proc');
      for (const commandLine of seen) assert.ok(!commandLine.includes(PASSWORD), `/proc shows the password: ${commandLine}`);
    } finally {
      await watcher.stop();
      await rm(home, { recursive: true, force: true });
    }
  });
});

/** Polls /proc for this process's children and keeps each command line seen, as another local user could. */
function watchChildren(): { stop(): Promise<string[]> } {
  const seen = new Set<string>();
  let running = true;
  const loop = (async () => {
    while (running) {
      for (const pid of await childPids()) {
        const commandLine = await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '');
        if (commandLine) seen.add(commandLine.split('\0').join(' '));
      }
      await sleep(PROC_POLL_MS);
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return [...seen];
    },
  };
}

async function childPids(): Promise<string[]> {
  const tasks = await readdir(`/proc/${process.pid}/task`).catch(() => []);
  const pids: string[] = [];
  for (const task of tasks) {
    const children = await readFile(`/proc/${process.pid}/task/${task}/children`, 'utf8').catch(() => '');
    pids.push(...children.split(' ').filter((pid) => pid.trim() !== ''));
  }
  return pids;
}
