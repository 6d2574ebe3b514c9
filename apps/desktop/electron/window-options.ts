// The window's settings: the page is the daemon's web interface, so it runs isolated (no Node, sandboxed, with
// only the preload's two calls), and it may navigate only within the daemon's own origin.
export interface MainWindowOptions {
  width: number;
  height: number;
  minWidth: number;
  minHeight: number;
  title: string;
  show: boolean;
  webPreferences: {
    preload: string;
    contextIsolation: true;
    nodeIntegration: false;
    sandbox: true;
    webSecurity: true;
  };
}

export function mainWindowOptions(preload: string): MainWindowOptions {
  return {
    width: 1280,
    height: 860,
    minWidth: 900,
    minHeight: 600,
    title: 'Infernet',
    show: false,
    webPreferences: { preload, contextIsolation: true, nodeIntegration: false, sandbox: true, webSecurity: true },
  };
}

/** Whether the window may go to `target`: pages of the daemon's origin only; anything else opens outside. */
export function isAppNavigation(target: string, apiUrl: string): boolean {
  try {
    return new URL(target).origin === new URL(apiUrl).origin;
  } catch {
    return false;
  }
}

/** Links the window hands to the system browser: web pages only, never file: or custom schemes. */
export function isExternalWebLink(target: string): boolean {
  try {
    return ['https:', 'http:'].includes(new URL(target).protocol);
  } catch {
    return false;
  }
}
