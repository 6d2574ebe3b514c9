// A test process killed outright (a test runner's timeout, SIGKILL) runs none of its `after` hooks: the daemons it
// started must stop by themselves, PocketBase included, instead of living on as orphans (the soak run found three
// provider daemons and an aggregator with its PocketBase alive 45 minutes after a timed-out file).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { pathToFileURL } from 'node:url';
import { eventually, runCli } from '../support/cli.js';

/** Pids of live processes whose command line names `text`. */
function processesNaming(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

describe('daemons started by a test process that is killed outright', () => {
  let dir: string;
  const leftovers: number[] = [];

  after(async () => {
    for (const pid of leftovers) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('stop by themselves, their PocketBase too, when the process that started them is SIGKILLed', async () => {
    dir = await mkdtemp(join(tmpdir(), 'infernet-orphans-'));
    const home = join(dir, 'aggregator');
    assert.equal((await runCli(['init', '--home', home, '--role', 'aggregator', '--port', '0'])).code, 0);
    // The harness under test: startDaemon from test/support, in a process of its own that then waits to be killed.
    const support = pathToFileURL(join(import.meta.dirname, '..', 'support', 'cli.js')).href;
    const harness = spawn(process.execPath, ['--input-type=module', '-e', `const { startDaemon } = await import(${JSON.stringify(support)}); const d = await startDaemon(${JSON.stringify(home)}); console.log(d.process.pid); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
    const daemonPid = await new Promise<number>((resolve, reject) => {
      harness.stdout!.once('data', (chunk: Buffer) => resolve(Number(chunk.toString().trim())));
      harness.once('exit', (code) => reject(new Error(`the harness exited with ${code} before starting its daemon`)));
    });
    await eventually(() => processesNaming(home).length >= 2, 30_000, 'the daemon and its PocketBase');
    const started = processesNaming(home);
    leftovers.push(...started);
    assert.ok(started.includes(daemonPid), `the daemon ${daemonPid} among ${started.join(', ')}`);

    harness.kill('SIGKILL');
    await eventually(() => processesNaming(home).length === 0, 30_000, 'no process of the daemon\'s home left').catch((error: Error) => {
      throw new Error(`${error.message}: still running ${processesNaming(home).join(', ')}`);
    });
  });
});
