import assert from 'node:assert/strict';
import { it } from 'node:test';
import { sharedModelPath } from '../../src/models/shared-test-models.js';
import { runCli } from '../support/cli.js';

it('`infernet plan --json` prints the GGUF descriptor and a single-GPU plan for a small model', async () => {
  const result = await runCli(['plan', '--model', sharedModelPath('stories260K.gguf'), '--gpus', '1x8GB', '--json']);
  assert.equal(result.code, 0, result.stderr);
  const { model, plan } = JSON.parse(result.stdout);
  assert.equal(model.layers, 5);
  assert.equal(model.kvHeads, 4);
  assert.equal(plan.strategy, 'single');
  assert.equal(plan.tensorParallelSize, 1);
  assert.ok(plan.kvBlocks > 0);
});

it('`infernet plan` splits Llama-3-70B by tensor parallel inside an NVLink node and explains it in one line', async () => {
  const result = await runCli(['plan', '--model', 'llama-3-70b', '--gpus', '8x80GB,8x80GB']);
  assert.equal(result.code, 0, result.stderr);
  assert.match(result.stdout.trim(), /^Llama-3-70B .*tensor parallel over 2 NVLink GPUs/);
  assert.equal(result.stdout.trim().split('\n').length, 1);
});

it('`infernet plan` names the shortfall when the model cannot fit', async () => {
  const result = await runCli(['plan', '--model', 'llama-3-70b', '--gpus', '1x24GB']);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /needs|fit/i);
});
