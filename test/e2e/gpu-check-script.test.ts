// scripts/gpu-check.sh as a session lent a GPU machine uses it, with everything but CUDA proven here: `prepare` packs
// the bundled check, Node and llama.cpp's source under the device call's 64 MiB, and `run --cpu` runs the same
// measurements from that folder alone (Node unpacked from it, the bundle run outside the repository, so nothing of
// node_modules helps), against the CPU llama-server build, and stops every llama-server it started.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { REPO_ROOT } from '../support/cli.js';

interface ScriptRun {
  code: number | null;
  stdout: string;
  output: string;
}

async function gpuCheck(args: string[], env: NodeJS.ProcessEnv = {}, limitMs = 240_000): Promise<ScriptRun> {
  const child = spawn('bash', ['scripts/gpu-check.sh', ...args], { cwd: REPO_ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    output += chunk.toString();
  });
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), limitMs);
  const [code] = (await once(child, 'exit').finally(() => clearTimeout(killer))) as [number | null];
  return { code, stdout, output };
}

/** Pids and command lines of every live process that names `dir` (the llama-servers load a model from there). */
function processesNaming(dir: string): string[] {
  const found: string[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(join('/proc', entry, 'cmdline'), 'utf8').replaceAll('\0', ' ');
      if (cmdline.includes(dir)) found.push(`${entry}: ${cmdline}`);
    } catch {
      // gone while we looked
    }
  }
  return found;
}

type Figure = Record<string, unknown> & { figure: string };

const figuresOf = (stdout: string): Figure[] =>
  stdout
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Figure);

const positive = (figure: Figure, field: string) => assert.ok(typeof figure[field] === 'number' && (figure[field] as number) > 0, `${figure.figure}.${field} is ${String(figure[field])}`);

describe('the GPU check script (scripts/gpu-check.sh), on the CPU', () => {
  let scratch: string;
  before(() => {
    scratch = mkdtempSync(join(tmpdir(), 'infernet-gpu-check-test-'));
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  it('prepares one folder under the 64 MiB a device call takes and prints the call to make', { timeout: 300_000 }, async () => {
    const run = await gpuCheck(['prepare']);
    assert.equal(run.code, 0, run.output);
    for (const file of ['gpu-check.mjs', 'node.xz', 'llama.cpp.tar.xz', 'manifest', 'SHA256SUMS']) assert.ok(existsSync(join(REPO_ROOT, '.gpu-check', file)), file);
    const total = /= ([\d.]+) of 64 MiB/.exec(run.output);
    assert.ok(total && Number(total[1]) < 64, run.output);
    assert.match(run.stdout, /command: {3}bash scripts\/gpu-check\.sh run --report "\$OUT"/);
    assert.match(run.stdout, /carry: {5}\["\.gpu-check"\]/);
  });

  it('runs every measurement from the prepared folder alone: engine and direct llama-server, 1, 4 and 16 jobs', { timeout: 240_000 }, async () => {
    const report = join(scratch, 'report');
    const run = await gpuCheck(['run', '--cpu', '--shape', 'tiny', '--rounds', '2', '--max-tokens', '8', '--prompt-words', '24', '--context', '512', '--report', report], { TMPDIR: scratch });
    assert.equal(run.code, 0, run.output);
    const figures = figuresOf(run.stdout);
    const one = (name: string, path?: string) => {
      const found = figures.filter((f) => f.figure === name && (path === undefined || f.path === path));
      assert.equal(found.length, 1, `one ${name} ${path ?? ''} figure in:\n${run.stdout}`);
      return found[0]!;
    };
    assert.equal(one('build').device, 'cpu');
    const model = one('model');
    assert.equal(model.shape, 'tiny');
    positive(model, 'bytes');
    const setup = one('setup');
    assert.equal(setup.engineClass, 'LlamaServerEngine');
    assert.match(String(setup.engine), /^llama\.cpp\/llama-server@/);
    positive(one('load'), 'engineLoadMs');
    for (const path of ['engine', 'direct']) {
      const single = one('single-job', path);
      for (const field of ['firstTokenMs', 'tokensPerSecond', 'tokens', 'promptTokens']) positive(single, field);
      assert.equal(single.rounds, 2);
    }
    const versus = one('engine-vs-direct');
    assert.equal(typeof versus.firstTokenDeltaMs, 'number');
    positive(versus, 'tokensPerSecondRatio');
    for (const path of ['engine', 'direct']) {
      const runs = figures.filter((f) => f.figure === 'concurrency' && f.path === path);
      assert.deepEqual(
        runs.map((f) => f.jobs),
        [1, 4, 16],
        run.stdout,
      );
      for (const figure of runs) for (const field of ['totalTokensPerSecond', 'tokens', 'wallMs', 'slots']) positive(figure, field);
      assert.equal(runs[0]!.slots, 16);
    }
    assert.match(run.stdout, /\| one job \| first token \| tokens\/s/);
    assert.deepEqual(figuresOf(readFileSync(join(report, 'gpu-check.jsonl'), 'utf8')), figures);
    // Its work folder (Node, the model) is removed and no llama-server of it runs on.
    assert.deepEqual(readdirSync(scratch).filter((name) => name.startsWith('infernet-gpu-check.')), []);
    assert.deepEqual(processesNaming(scratch), []);
  });

  it('stops the llama-server processes it started when its time budget runs out', { timeout: 120_000 }, async () => {
    const run = await gpuCheck(['run', '--cpu', '--shape', 'tiny', '--rounds', '500', '--max-tokens', '64', '--budget-s', '5'], { TMPDIR: scratch });
    assert.equal(run.code, 1, run.output);
    assert.match(run.output, /past the budget|not written within the budget/);
    assert.deepEqual(processesNaming(scratch), []);
    assert.deepEqual(readdirSync(scratch).filter((name) => name.startsWith('infernet-gpu-check.')), []);
  });
});
