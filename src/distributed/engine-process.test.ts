import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { EngineProcessError, runningProgramOf, startEngineProcess, stopEngineProcess, waitUntilReady } from './engine-process.js';

const node = (script: string) => startEngineProcess(process.execPath, ['-e', script]);

describe('waiting for a started program to be ready', () => {
  it('a child process that exits first: the error says how, with its last output', async () => {
    const child = node('console.error("cannot bind 127.0.0.1:1"); process.exit(3)');
    await assert.rejects(waitUntilReady(child, async () => false, 10_000, 'the worker'), (error: unknown) => {
      assert.ok(error instanceof EngineProcessError);
      assert.match(error.message, /the worker exited before it was ready \(code 3\)/);
      assert.match(error.lastOutput, /cannot bind 127\.0\.0\.1:1/);
      return true;
    });
  });

  it('one that never answers is stopped at the deadline, as a child process or as any running program', async () => {
    for (const wrap of [(child: ReturnType<typeof node>) => child, runningProgramOf]) {
      const child = node('console.log("loading"); setInterval(() => {}, 1000)');
      await assert.rejects(waitUntilReady(wrap(child), async () => false, 300, 'the server'), /the server was not ready within 300 ms; last output:\nloading/);
      assert.ok(child.hasExited(), 'stopped, not left running');
      await stopEngineProcess(child);
    }
  });

  it('resolves once the check answers true, leaving it running', async () => {
    const child = node('setInterval(() => {}, 1000)');
    let checks = 0;
    await waitUntilReady(runningProgramOf(child), async () => ++checks >= 3, 10_000, 'the server');
    assert.equal(checks, 3);
    assert.equal(child.hasExited(), false);
    await stopEngineProcess(child);
  });
});
