// daemon.json is how `status`, `submit` and the tests find a running daemon: after saves started side by side (an
// engine loaded, peers joined, the listener up), the file must hold the latest state, never an older one.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { DaemonStateWriter, type DaemonState } from './daemon-state.js';

function stateWith(peers: number, url: string | null): DaemonState {
  // Sizes differ from save to save, so writes started together take different times.
  const peerList = Array.from({ length: peers }, (_, i) => ({ npub: `npub1${'q'.repeat(58)}${i}`, role: 'client' as const, remote: `127.0.0.1:${10_000 + i}` }));
  return { pid: process.pid, url, role: 'provider', npub: 'npub1test', startedAt: new Date(0).toISOString(), peers: peerList };
}

describe('DaemonStateWriter', () => {
  it('leaves the latest state on disk after many saves started at once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infernet-daemon-state-'));
    try {
      const path = join(dir, 'daemon.json');
      for (let round = 0; round < 20; round++) {
        let current = stateWith(2000, null);
        const writer = new DaemonStateWriter(path, () => current);
        const saves: Promise<void>[] = [writer.save()];
        // The large state (no URL yet) is being written when the daemon starts listening and saves again.
        current = stateWith(1, 'ws://127.0.0.1:7420');
        saves.push(writer.save());
        await Promise.all(saves);
        const onDisk = JSON.parse(await readFile(path, 'utf8')) as DaemonState;
        assert.equal(onDisk.url, 'ws://127.0.0.1:7420', `round ${round}: a stale state won the race`);
        assert.equal(onDisk.peers.length, 1);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
