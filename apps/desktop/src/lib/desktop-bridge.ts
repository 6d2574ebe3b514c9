// What Electron's preload exposes (apps/desktop/electron/preload.cjs); absent in a browser.
export interface DesktopConnection {
  apiUrl: string;
  key: string;
}

export interface DesktopBridge {
  connection(): Promise<DesktopConnection>;
  saveFile(fileName: string, text: string): Promise<string | null>;
}

export function desktopBridge(): DesktopBridge | undefined {
  return (window as unknown as { infernetDesktop?: DesktopBridge }).infernetDesktop;
}

export const API_KEY_STORAGE = 'infernet.apiKey';
