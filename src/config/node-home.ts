// The layout of a node home folder: one place that knows where each file lives.
import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import YAML from 'yaml';
import { ConfigError, validateNodeConfig, type NodeConfig } from './node-config.js';

export interface NodeHome {
  readonly dir: string;
  readonly keyFile: string;
  readonly configFile: string;
  readonly jobsFile: string;
  /** Where each job event feed reader is, beside jobsFile (storage.backend: file). */
  readonly feedCursorsFile: string;
  /** Written by a running daemon: pid, port, started-at. */
  readonly daemonStateFile: string;
  /** Hashes of the HTTP API's keys, unless the config's api.keysFile names another file. */
  readonly apiKeysFile: string;
}

/** `--home`, then INFERNET_HOME, then ~/.infernet. */
export function resolveHomeDir(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  return resolve(flag ?? env.INFERNET_HOME ?? join(homedir(), '.infernet'));
}

export function nodeHome(dir: string): NodeHome {
  const jsonConfig = join(dir, 'config.json');
  return {
    dir,
    keyFile: join(dir, 'node.key'),
    configFile: existsSync(jsonConfig) ? jsonConfig : join(dir, 'config.yaml'),
    jobsFile: join(dir, 'jobs.jsonl'),
    feedCursorsFile: join(dir, 'job-feed-cursors.json'),
    daemonStateFile: join(dir, 'daemon.json'),
    apiKeysFile: join(dir, 'api-keys.json'),
  };
}

export async function loadNodeConfig(home: NodeHome): Promise<NodeConfig> {
  let text: string;
  try {
    text = await readFile(home.configFile, 'utf8');
  } catch (cause) {
    throw new ConfigError(`cannot read ${home.configFile}: run \`infernet init --home ${home.dir}\` first`, { cause });
  }
  let data: unknown;
  try {
    data = home.configFile.endsWith('.json') ? JSON.parse(text) : YAML.parse(text);
  } catch (cause) {
    throw new ConfigError(`${home.configFile}: not valid ${home.configFile.endsWith('.json') ? 'JSON' : 'YAML'}: ${(cause as Error).message}`, { cause });
  }
  return validateNodeConfig(data, home.configFile);
}

export async function saveNodeConfig(home: NodeHome, config: object): Promise<void> {
  const text = home.configFile.endsWith('.json') ? JSON.stringify(config, null, 2) + '\n' : YAML.stringify(config);
  await writeFile(home.configFile, text, { mode: 0o600 });
}
