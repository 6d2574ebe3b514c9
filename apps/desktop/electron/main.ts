// Electron's main process: finds or starts the node's daemon, keeps the app's API key, opens one window on the
// interface the daemon serves, and answers the window's two IPC calls. Each piece lives in its own tested module.
import { app, BrowserWindow, dialog, ipcMain, shell } from 'electron';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureDaemon, type LocalDaemon } from './daemon-launcher.js';
import { ensureDesktopApiKey } from './desktop-api-key.js';
import { infernetCommand, nodeHomeOf } from './infernet-command.js';
import { cachedConnection, registerIpcHandlers } from './ipc-handlers.js';
import { isAppNavigation, isExternalWebLink, mainWindowOptions } from './window-options.js';

const home = nodeHomeOf(process.argv, process.env, homedir());
const cli = infernetCommand();
let daemon: LocalDaemon | undefined;

const connection = cachedConnection(async () => {
  daemon ??= await ensureDaemon({ home, cli });
  const { key } = await ensureDesktopApiKey({ home, cli, file: join(app.getPath('userData'), 'api-key.json') });
  return { apiUrl: daemon.apiUrl, key };
});

async function openWindow(): Promise<void> {
  const preload = fileURLToPath(new URL('../electron/preload.cjs', import.meta.url));
  const window = new BrowserWindow(mainWindowOptions(preload));
  window.once('ready-to-show', () => window.show());
  try {
    const { apiUrl } = await connection();
    window.webContents.on('will-navigate', (event, target) => {
      if (!isAppNavigation(target, apiUrl)) event.preventDefault();
    });
    window.webContents.setWindowOpenHandler(({ url }) => {
      if (isExternalWebLink(url)) void shell.openExternal(url);
      return { action: 'deny' };
    });
    await window.loadURL(`${apiUrl}/`);
  } catch (error) {
    dialog.showErrorBox('Infernet cannot reach its node', (error as Error).message);
    app.quit();
  }
}

registerIpcHandlers(ipcMain, {
  connection,
  chooseSavePath: async (suggestedName) => {
    const focused = BrowserWindow.getFocusedWindow();
    const options = { defaultPath: join(app.getPath('downloads'), suggestedName) };
    const result = focused ? await dialog.showSaveDialog(focused, options) : await dialog.showSaveDialog(options);
    return result.canceled ? undefined : result.filePath;
  },
});

app.whenReady().then(openWindow, (error: Error) => dialog.showErrorBox('Infernet', error.message));
app.on('window-all-closed', () => app.quit());
app.on('will-quit', (event) => {
  if (!daemon?.startedHere) return;
  // A daemon this app started stops with it; one the user started keeps running.
  event.preventDefault();
  const stopping = daemon;
  daemon = undefined;
  void stopping.stop().finally(() => app.quit());
});
