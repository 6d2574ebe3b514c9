// How the desktop app runs the `infernet` command: INFERNET_CLI when set, else this checkout's bin/infernet.js
// run by Electron's own Node (ELECTRON_RUN_AS_NODE), else `infernet` on the PATH.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface InfernetCommand {
  command: string;
  args: string[];
  env: NodeJS.ProcessEnv;
}

/** bin/infernet.js of the repository this app was built in (apps/desktop/dist-electron -> ../../..). */
export function checkoutInfernetBin(): string {
  return resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'bin', 'infernet.js');
}

export function infernetCommand(options: { env?: NodeJS.ProcessEnv; execPath?: string; checkoutBin?: string } = {}): InfernetCommand {
  const env = options.env ?? process.env;
  const execPath = options.execPath ?? process.execPath;
  const bin = options.checkoutBin ?? checkoutInfernetBin();
  if (env.INFERNET_CLI) return { command: env.INFERNET_CLI, args: [], env };
  // Under Electron, process.execPath is the app itself: this variable makes it behave as plain Node.
  if (existsSync(bin)) return { command: execPath, args: [bin], env: { ...env, ELECTRON_RUN_AS_NODE: '1' } };
  return { command: 'infernet', args: [], env };
}

/** --home=DIR on the app's command line, then INFERNET_HOME, then ~/.infernet: the CLI's own order. */
export function nodeHomeOf(argv: readonly string[], env: NodeJS.ProcessEnv, homeDir: string): string {
  const flag = argv.find((arg) => arg.startsWith('--home='))?.slice('--home='.length);
  return resolve(flag || env.INFERNET_HOME || join(homeDir, '.infernet'));
}
