// The main process's answers to the window (through preload.cjs): where the daemon is and with which key, and
// saving an export where the user chooses. Arguments from the renderer are checked: it is a web page.
import { writeFile } from 'node:fs/promises';
import { basename } from 'node:path';

export const IPC_CHANNELS = { connection: 'infernet:connection', saveFile: 'infernet:save-file' } as const;
/** Exports are logs and summaries: anything larger is refused rather than written. */
export const MAX_SAVED_FILE_BYTES = 64 * 1024 * 1024;

/** The part of Electron's ipcMain used here. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: unknown, ...args: unknown[]) => unknown): void;
  removeHandler(channel: string): void;
}

export interface DesktopConnection {
  apiUrl: string;
  key: string;
}

export interface IpcServices {
  /** Starts or finds the daemon and the app's key; called on each window load, so it should cache. */
  connection(): Promise<DesktopConnection>;
  /** Asks where to save (Electron's save dialog); undefined when the user cancels. */
  chooseSavePath(suggestedName: string): Promise<string | undefined>;
}

export class InvalidIpcArgumentError extends Error {
  override readonly name = 'InvalidIpcArgumentError';
}

export function registerIpcHandlers(ipc: IpcMainLike, services: IpcServices): () => void {
  ipc.handle(IPC_CHANNELS.connection, () => services.connection());
  ipc.handle(IPC_CHANNELS.saveFile, (_event, name, text) => saveFile(services, name, text));
  return () => {
    for (const channel of Object.values(IPC_CHANNELS)) ipc.removeHandler(channel);
  };
}

async function saveFile(services: IpcServices, name: unknown, text: unknown): Promise<string | null> {
  if (typeof name !== 'string' || !name.trim()) throw new InvalidIpcArgumentError('save-file needs a file name');
  if (typeof text !== 'string') throw new InvalidIpcArgumentError('save-file needs the text to save');
  if (Buffer.byteLength(text) > MAX_SAVED_FILE_BYTES) throw new InvalidIpcArgumentError(`save-file refuses more than ${MAX_SAVED_FILE_BYTES} bytes`);
  // Only a name is suggested: the folder is the user's choice in the dialog, never the page's.
  const path = await services.chooseSavePath(basename(name));
  if (!path) return null;
  await writeFile(path, text);
  return path;
}

/** Caches one connection attempt at a time; a failed one is tried again on the next call. */
export function cachedConnection(open: () => Promise<DesktopConnection>): () => Promise<DesktopConnection> {
  let pending: Promise<DesktopConnection> | undefined;
  return () => {
    pending ??= open().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}
