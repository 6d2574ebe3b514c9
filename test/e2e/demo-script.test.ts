// `npm run demo` as a newcomer runs it: scripts/demo.sh starts a provider and an aggregator daemon (each with its
// PocketBase) and a client; whether it ends by itself or by Ctrl-C, no process of its homes may survive it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { eventually, REPO_ROOT } from '../support/cli.js';

/** Pids and command lines of every live process that names `dir` in its command line. */
function processesNaming(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(join('/proc', entry, 'cmdline'), 'utf8').replaceAll('\0', ' ');
    } catch {
      continue; // gone while we looked
    }
    if (cmdline.includes(dir)) found.push(`${entry}: ${cmdline}`);
  }
  return found;
}

interface DemoRun {
  output: () => string;
  exit: Promise<[number | null, NodeJS.Signals | null]>;
  pid: number;
}

function runDemo(): DemoRun {
  // The set-up already ran (npm test's own); the demo's part under test is what it starts and stops.
  const child = spawn('bash', ['scripts/demo.sh'], { cwd: REPO_ROOT, env: { ...process.env, INFERNET_SKIP_SETUP: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), 240_000);
  const exit = once(child, 'exit').finally(() => clearTimeout(killer)) as Promise<[number | null, NodeJS.Signals | null]>;
  return { output: () => output, exit, pid: child.pid! };
}

function workDirOf(output: string): string {
  const match = /\(homes and logs in (\S+)\)/.exec(output);
  assert.ok(match, `the demo names no work folder:\n${output}`);
  return match[1]!;
}

describe('npm run demo (scripts/demo.sh)', () => {
  it('completes a generation and leaves no process of its homes running', async () => {
    const demo = runDemo();
    const [code] = await demo.exit;
    const output = demo.output();
    assert.equal(code, 0, output);
    assert.match(output, /== the job as the client recorded it/);
    assert.match(output, /completed/);
    assert.deepEqual(processesNaming(workDirOf(output)), []);
  });

  it('stops its daemons and their PocketBase on Ctrl-C (SIGINT) while the network is up', async () => {
    const demo = runDemo();
    await eventually(() => demo.output().includes('== client'), 120_000, 'the demo to start its provider and aggregator');
    const work = workDirOf(demo.output());
    assert.ok(processesNaming(join(work, 'aggregator')).length >= 1, 'the aggregator runs before the interrupt');
    process.kill(demo.pid, 'SIGINT');
    const [code] = await demo.exit;
    assert.equal(code, 130, demo.output());
    assert.deepEqual(processesNaming(work), []);
  });
});
