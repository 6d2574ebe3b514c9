// Headless Chromium (Debian's /usr/bin/chromium) driven through playwright-core, for the interface's end-to-end
// tests. playwright-core is a dependency of apps/desktop (installed by scripts/setup-desktop.sh), not of the
// root package, so it is loaded from there and typed here by the few calls the tests make.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { REPO_ROOT } from './cli.js';

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const DESKTOP_DIR = join(REPO_ROOT, 'apps', 'desktop');
/** Recommended in ../shared/README.md: no sandbox (root in CI), no GPU, nothing that reaches the network. */
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'];

export interface Locator {
  click(): Promise<void>;
  fill(value: string): Promise<void>;
  selectOption(value: string): Promise<unknown>;
  textContent(): Promise<string | null>;
  count(): Promise<number>;
  first(): Locator;
  waitFor(options?: { state?: 'visible' | 'attached' | 'hidden'; timeout?: number }): Promise<void>;
  setInputFiles(files: { name: string; mimeType: string; buffer: Buffer }): Promise<void>;
}

export interface Download {
  suggestedFilename(): string;
  path(): Promise<string>;
}

export interface Page {
  goto(url: string): Promise<unknown>;
  locator(selector: string): Locator;
  screenshot(options: { path: string; fullPage?: boolean }): Promise<Buffer>;
  /** Page-side code is passed as an expression string: the root build has no DOM types. */
  evaluate(expression: string): Promise<unknown>;
  waitForFunction(expression: string, arg?: null, options?: { timeout?: number; polling?: number }): Promise<unknown>;
  waitForEvent(event: 'download', options?: { timeout?: number }): Promise<Download>;
  on(event: 'console' | 'pageerror', listener: (message: { text?: () => string; message?: string }) => void): void;
}

export interface BrowserContext {
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

export interface Browser {
  newContext(options: { acceptDownloads: boolean; bypassCSP?: boolean; viewport: { width: number; height: number } }): Promise<BrowserContext>;
  close(): Promise<void>;
}

interface PlaywrightCore {
  chromium: { launch(options: { executablePath: string; args: string[]; headless: boolean }): Promise<Browser> };
}

export class DesktopNotSetUpError extends Error {
  override readonly name = 'DesktopNotSetUpError';
}

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(CHROMIUM_PATH)) throw new DesktopNotSetUpError(`${CHROMIUM_PATH} is missing: run scripts/setup-desktop.sh (it installs Debian's chromium)`);
  if (!existsSync(join(DESKTOP_DIR, 'node_modules', 'playwright-core'))) throw new DesktopNotSetUpError('apps/desktop has no node_modules: run scripts/setup-desktop.sh');
  const playwright = createRequire(join(DESKTOP_DIR, 'package.json'))('playwright-core') as PlaywrightCore;
  return playwright.chromium.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS, headless: true });
}

export function interfaceBuilt(): boolean {
  return existsSync(join(DESKTOP_DIR, 'dist', 'index.html'));
}
