// A real node home for the main-process tests, made with the real `infernet init` of this checkout.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { infernetCommand, type InfernetCommand } from './infernet-command.js';
import { runInfernetChecked } from './run-infernet.js';

/** The checkout's CLI under this Node (the tests run without Electron, whose binary cannot be installed here). */
export const testCli: InfernetCommand = infernetCommand({ env: { ...process.env, INFERNET_CLI: '' }, execPath: process.execPath });

export async function makeClientHome(): Promise<{ dir: string; home: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'infernet-desktop-main-'));
  const home = join(dir, 'node');
  // A client node with an API: the quickest daemon that serves what the app needs. Its aggregator need not exist.
  await runInfernetChecked(testCli, ['init', '--home', home, '--role', 'client', '--connect', 'ws://127.0.0.1:9', '--api-port', '0']);
  return { dir, home, remove: () => rm(dir, { recursive: true, force: true }) };
}
