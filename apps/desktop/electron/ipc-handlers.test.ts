// The IPC handlers on an in-memory ipcMain with Electron's handle/invoke semantics (Electron's binary cannot be
// installed here, so its real ipcMain cannot run); files are really written.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { cachedConnection, InvalidIpcArgumentError, IPC_CHANNELS, MAX_SAVED_FILE_BYTES, registerIpcHandlers, type IpcMainLike } from './ipc-handlers.js';

/** ipcMain's contract: one handler per channel (a second handle() throws), invoke() awaits it. */
class InMemoryIpcMain implements IpcMainLike {
  private readonly handlers = new Map<string, (event: unknown, ...args: unknown[]) => unknown>();
  handle(channel: string, listener: (event: unknown, ...args: unknown[]) => unknown): void {
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    this.handlers.set(channel, listener);
  }
  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }
  async invoke(channel: string, ...args: unknown[]): Promise<unknown> {
    const handler = this.handlers.get(channel);
    if (!handler) throw new Error(`No handler registered for '${channel}'`);
    return handler({ sender: 'window' }, ...args);
  }
}

describe('the main process IPC handlers (in-memory ipcMain: Electron cannot be installed here)', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'infernet-ipc-'));
  after(() => rm(dir, { recursive: true, force: true }));
  const asked: string[] = [];
  let chosen: string | undefined = join(dir, 'chosen.csv');
  const ipc = new InMemoryIpcMain();
  const unregister = registerIpcHandlers(ipc, {
    connection: async () => ({ apiUrl: 'http://127.0.0.1:8080', key: 'inf_key' }),
    chooseSavePath: async (name) => {
      asked.push(name);
      return chosen;
    },
  });

  it('tells the window where the daemon is and with which key', async () => {
    assert.deepEqual(await ipc.invoke(IPC_CHANNELS.connection), { apiUrl: 'http://127.0.0.1:8080', key: 'inf_key' });
  });

  it('saves an export where the user chose, suggesting only a bare file name', async () => {
    const path = await ipc.invoke(IPC_CHANNELS.saveFile, '../../etc/infernet-logs.csv', 'time,level\r\n');
    assert.equal(path, chosen);
    assert.equal(await readFile(chosen!, 'utf8'), 'time,level\r\n');
    assert.deepEqual(asked, ['infernet-logs.csv']);
  });

  it('writes nothing when the user cancels the dialog', async () => {
    chosen = undefined;
    assert.equal(await ipc.invoke(IPC_CHANNELS.saveFile, 'logs.json', '[]'), null);
  });

  it('refuses arguments a page should not send', async () => {
    await assert.rejects(ipc.invoke(IPC_CHANNELS.saveFile, 42, 'text'), InvalidIpcArgumentError);
    await assert.rejects(ipc.invoke(IPC_CHANNELS.saveFile, 'a.json', { not: 'text' }), InvalidIpcArgumentError);
    await assert.rejects(ipc.invoke(IPC_CHANNELS.saveFile, 'a.json', 'x'.repeat(MAX_SAVED_FILE_BYTES + 1)), /refuses more than/);
  });

  it('removes its handlers, so a reloaded main process can register them again', () => {
    unregister();
    assert.doesNotThrow(() => registerIpcHandlers(ipc, { connection: async () => ({ apiUrl: '', key: '' }), chooseSavePath: async () => undefined }));
  });

  it('shares one connection attempt between windows, and tries again after a failure', async () => {
    let attempts = 0;
    const connection = cachedConnection(async () => {
      attempts++;
      if (attempts === 1) throw new Error('daemon not up yet');
      return { apiUrl: 'http://127.0.0.1:1', key: 'k' };
    });
    await assert.rejects(connection(), /not up yet/);
    const [a, b] = await Promise.all([connection(), connection()]);
    assert.deepEqual(a, b);
    assert.equal(attempts, 2);
  });
});
