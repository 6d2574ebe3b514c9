// The app's own API key for its node: created once with `infernet apikey create` (the node keeps only its hash,
// so the app keeps the key, readable by this user only) and created again if it was revoked.
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { InfernetCommand } from './infernet-command.js';
import { runInfernetChecked } from './run-infernet.js';

export interface SavedApiKey {
  /** The node home the key belongs to: a key for another home is not reused. */
  home: string;
  label: string;
  key: string;
}

export interface DesktopApiKeyOptions {
  home: string;
  /** Where the app keeps it, e.g. <userData>/api-key.json. */
  file: string;
  cli: InfernetCommand;
}

export async function readSavedApiKey(file: string): Promise<SavedApiKey | undefined> {
  try {
    const saved = JSON.parse(await readFile(file, 'utf8')) as Partial<SavedApiKey>;
    if (typeof saved.home === 'string' && typeof saved.label === 'string' && typeof saved.key === 'string') return { home: saved.home, label: saved.label, key: saved.key };
  } catch {
    // none yet, or unreadable: a new key replaces it
  }
  return undefined;
}

/** The saved key while the node still lists it, else a new one. */
export async function ensureDesktopApiKey(options: DesktopApiKeyOptions): Promise<SavedApiKey> {
  const saved = await readSavedApiKey(options.file);
  if (saved && saved.home === options.home && (await nodeListsKey(options, saved.label))) return saved;
  const label = `desktop-app-${randomBytes(4).toString('hex')}`;
  const key = (await runInfernetChecked(options.cli, ['apikey', 'create', '--home', options.home, '--label', label])).trim();
  const created: SavedApiKey = { home: options.home, label, key };
  await mkdir(dirname(options.file), { recursive: true });
  await writeFile(options.file, JSON.stringify(created, null, 2) + '\n', { mode: 0o600 });
  return created;
}

async function nodeListsKey(options: DesktopApiKeyOptions, label: string): Promise<boolean> {
  const listed = JSON.parse(await runInfernetChecked(options.cli, ['apikey', 'list', '--home', options.home, '--json'])) as Array<{ label?: unknown }>;
  return listed.some((key) => key.label === label);
}
