// Process identities against real processes: this one, a child that exits, and a pid whose start does not match.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, it } from 'node:test';
import { currentProcessIdentity, isProcessRunning } from './process-identity.js';

describe('process identity', () => {
  it('knows this process as running, with its start read from /proc on Linux', () => {
    const self = currentProcessIdentity();
    assert.equal(self.pid, process.pid);
    if (process.platform === 'linux') assert.match(self.start ?? '', /^\d+$/);
    assert.equal(isProcessRunning(self), true);
  });
  it('knows a process that exited as gone', async () => {
    const child = spawn(process.execPath, ['-e', '']);
    const pid = child.pid!;
    await once(child, 'exit');
    assert.equal(isProcessRunning({ pid }), false);
  });
  it('does not take another process under a reused pid for the owner', { skip: process.platform !== 'linux' && 'start times come from /proc' }, () => {
    const self = currentProcessIdentity();
    assert.equal(isProcessRunning({ pid: self.pid, start: String(Number(self.start) + 1) }), false);
  });
});
