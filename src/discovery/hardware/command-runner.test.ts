import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { execFileRunner } from './command-runner.js';
import { HardwareCommandError } from './errors.js';

const node = process.execPath;

describe('execFileRunner', () => {
  it('returns the standard output of a tool that succeeds', async () => {
    const result = await execFileRunner()(node, ['-e', 'process.stdout.write("GPU 0: ok")']);
    assert.deepEqual(result, { status: 'ok', stdout: 'GPU 0: ok' });
  });

  it('calls a tool that is not installed missing, without throwing', async () => {
    assert.deepEqual(await execFileRunner()('infernet-no-such-tool-xyz', ['-L']), { status: 'missing' });
  });

  it('returns a failing tool as a named error with its exit code and output', async () => {
    const message = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.";
    const result = await execFileRunner()(node, ['-e', `console.log(${JSON.stringify(message)}); process.exit(9)`]);
    assert.equal(result.status, 'failed');
    const error = result.status === 'failed' ? result.error : undefined;
    assert.ok(error instanceof HardwareCommandError);
    assert.deepEqual(error.failure, { kind: 'exit', code: 9 });
    assert.match(error.message, /exited with code 9: NVIDIA-SMI has failed/);
  });

  it('stops a tool that hangs after the timeout', async () => {
    const result = await execFileRunner({ timeoutMs: 200 })(node, ['-e', 'setTimeout(() => {}, 60_000)']);
    assert.equal(result.status, 'failed');
    assert.deepEqual(result.status === 'failed' && result.error.failure, { kind: 'timeout', afterMs: 200 });
    assert.match(result.status === 'failed' ? result.error.message : '', /gave no answer within 0.2 s/);
  });
});
