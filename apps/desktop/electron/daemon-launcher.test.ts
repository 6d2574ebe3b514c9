// Runs under Node, not Electron (Electron's binary cannot be installed here): the launcher starts the real daemon
// through the checkout's CLI, as the app does with ELECTRON_RUN_AS_NODE.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { DaemonStartError, ensureDaemon, NodeHomeNotInitializedError, readRunningDaemon, type LocalDaemon } from './daemon-launcher.js';
import { makeClientHome, testCli } from './test-node-home.js';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the desktop app daemon launcher (Node in place of Electron, whose binary cannot be installed here)', () => {
  const cleanups: Array<() => Promise<void>> = [];
  after(async () => {
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  it('refuses a folder that is not a node home, naming the init command', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infernet-not-home-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await assert.rejects(ensureDaemon({ home: dir, cli: testCli }), (error: unknown) => {
      assert.ok(error instanceof NodeHomeNotInitializedError);
      assert.match(error.message, new RegExp(`infernet init --home ${dir} --api-port 0`));
      return true;
    });
  });

  it('starts the daemon of a node home, finds it running the next time, and stops only the one it started', async () => {
    const node = await makeClientHome();
    let started: LocalDaemon | undefined;
    cleanups.push(async () => {
      await started?.stop();
      await node.remove();
    });
    started = await ensureDaemon({ home: node.home, cli: testCli });
    assert.equal(started.startedHere, true);
    // Its HTTP API answers, and asks for a key: the app's interface and WebSocket live on this port.
    const models = await fetch(`${started.apiUrl}/v1/models`);
    assert.equal(models.status, 401);

    const found = await ensureDaemon({ home: node.home, cli: testCli });
    assert.deepEqual([found.startedHere, found.pid, found.apiUrl], [false, started.pid, started.apiUrl]);
    await found.stop();
    assert.ok(isAlive(started.pid), 'a daemon the app found keeps running when the app quits');

    await started.stop();
    assert.equal(isAlive(started.pid), false);
    assert.equal(await readRunningDaemon(node.home), undefined);
    assert.equal(existsSync(join(node.home, 'daemon.json')), false, 'it stopped cleanly');
  });

  it("reports the daemon's own words when it cannot start", async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infernet-bad-home-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    await writeFile(join(dir, 'config.yaml'), 'role: client\nlimits: { maxFrameBytes: 1 }\n');
    await assert.rejects(ensureDaemon({ home: dir, cli: testCli, startTimeoutMs: 30_000 }), (error: unknown) => {
      assert.ok(error instanceof DaemonStartError, String(error));
      assert.match(error.message, /exited \(1\) before it served its API/);
      assert.match(error.message, /maxFrameBytes/);
      return true;
    });
  });
});
