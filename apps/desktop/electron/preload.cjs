// The window's only bridge to the main process (a sandboxed preload must be CommonJS): where the daemon is,
// with the app's key, and saving an export through the save dialog.
const { contextBridge, ipcRenderer } = require('electron');

contextBridge.exposeInMainWorld('infernetDesktop', {
  connection: () => ipcRenderer.invoke('infernet:connection'),
  saveFile: (fileName, text) => ipcRenderer.invoke('infernet:save-file', String(fileName), String(text)),
});
