// `infernet init`: creates a node home with a fresh key and a config file.
import { existsSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { nodeHome, resolveHomeDir, saveNodeConfig, validateNodeConfig, type NodeConfigInput } from '../../config/index.js';
import { generateNodeKey, loadNodeKey, saveNodeKey } from '../../identity/index.js';
import { CliError } from '../cli-error.js';

export const INIT_USAGE = `infernet init --home DIR [--role provider|aggregator|client|all] [--host H] [--port N]
  [--connect WS_URL]... [--model GGUF_PATH]... [--slots N] [--threads N] [--sandbox docker|none]
  [--api-port N] [--api-host H] [--bootstrap MULTIADDR]... [--discovery] [--p2p-listen MULTIADDR]... [--force] [--json]
  Creates the node key (encrypted with NIP-49 when INFERNET_PASSPHRASE is set) and config.yaml; prints the npub.
  --api-port serves the OpenAI-compatible API on a client or all-in-one node (0: any free port).`;

export async function initCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      home: { type: 'string' },
      role: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      connect: { type: 'string', multiple: true },
      model: { type: 'string', multiple: true },
      slots: { type: 'string' },
      threads: { type: 'string' },
      sandbox: { type: 'string' },
      'api-port': { type: 'string' },
      bootstrap: { type: 'string', multiple: true },
      discovery: { type: 'boolean' },
      'p2p-listen': { type: 'string', multiple: true },
      'api-host': { type: 'string' },
      force: { type: 'boolean' },
      json: { type: 'boolean' },
    },
  });
  const home = nodeHome(resolveHomeDir(values.home));
  const input: NodeConfigInput = {
    role: (values.role ?? 'all') as NodeConfigInput['role'],
    listen: { host: values.host ?? '127.0.0.1', port: integer('--port', values.port, 7420) },
    connect: values.connect ?? [],
    models: (values.model ?? []).map((path) => resolve(path)),
    provider: {
      slots: integer('--slots', values.slots, 1),
      threads: integer('--threads', values.threads, 1),
      sandbox: (values.sandbox ?? 'docker') as 'docker' | 'none',
    },
    ...apiSection(values['api-port'], values['api-host'], values.role ?? 'all'),
    ...discoverySection(values.bootstrap, values.discovery, values['p2p-listen']),
  };
  // Validate before writing anything, so a typo leaves no half-made home behind.
  validateNodeConfig(input, 'init options');
  for (const model of input.models ?? []) if (!existsSync(model)) throw new CliError(`--model ${model}: no such file`);
  await mkdir(home.dir, { recursive: true, mode: 0o700 });
  const keyExists = existsSync(home.keyFile);
  if (keyExists && !values.force) throw new CliError(`${home.dir} is already initialised (use --force to rewrite its config and keep its key)`);
  const key = keyExists ? await loadNodeKey(home.keyFile, process.env.INFERNET_PASSPHRASE) : generateNodeKey();
  if (!keyExists) await saveNodeKey(home.keyFile, key, process.env.INFERNET_PASSPHRASE || undefined);
  await saveNodeConfig(home, input);
  if (values.json) console.log(JSON.stringify({ npub: key.npub, publicKey: key.publicKey, home: home.dir, config: home.configFile }));
  else console.log(key.npub);
}

function apiSection(port: string | undefined, host: string | undefined, role: string): Pick<NodeConfigInput, 'api'> {
  if (port === undefined) {
    if (host !== undefined) throw new CliError('--api-host needs --api-port');
    return {};
  }
  if (role !== 'client' && role !== 'all') throw new CliError(`--api-port needs a role with a client side (client or all), not ${role}`);
  return { api: { port: integer('--api-port', port, 0), ...(host !== undefined ? { host } : {}) } };
}

function integer(flag: string, text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  if (!/^\d+$/.test(text)) throw new CliError(`${flag} must be a whole number, got "${text}"`);
  return Number(text);
}

/** --bootstrap, --p2p-listen or --discovery turn discovery on (a first node has no bootstrap peer yet). */
function discoverySection(bootstrap: string[] | undefined, enabled: boolean | undefined, listen: string[] | undefined): Pick<NodeConfigInput, 'discovery'> {
  if (!bootstrap?.length && !enabled && !listen?.length) return {};
  return { discovery: { enabled: true, bootstrap: bootstrap ?? [], ...(listen?.length ? { listen } : {}) } };
}
