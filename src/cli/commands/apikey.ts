// `infernet apikey`: the bearer keys of the node's OpenAI-compatible API. Only their hashes are kept.
import { parseArgs } from 'node:util';
import { apiKeysFileOf, createApiKey, listApiKeys, revokeApiKey, ApiKeyFileError, ApiKeyNotFoundError, type StoredApiKey } from '../../api/index.js';
import { loadNodeConfig, nodeHome, resolveHomeDir } from '../../config/index.js';
import { EXIT_CODES } from '../../errors/index.js';
import { CliError } from '../cli-error.js';

export const APIKEY_USAGE = `infernet apikey create --home DIR [--label TEXT]   prints a new key alone on stdout (shown once)
infernet apikey list --home DIR [--json]
infernet apikey revoke --home DIR ID_OR_LABEL`;

export async function apikeyCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { home: { type: 'string' }, label: { type: 'string' }, json: { type: 'boolean' } },
  });
  const [action, target] = positionals;
  // The node key is not needed (nor its passphrase): keys live beside the config.
  const home = nodeHome(resolveHomeDir(values.home));
  const file = apiKeysFileOf(home, await loadNodeConfig(home));
  try {
    if (action === 'create') return console.log((await createApiKey(file, values.label ?? '')).key);
    if (action === 'list') return printKeys(await listApiKeys(file), Boolean(values.json));
    if (action === 'revoke') {
      if (!target) throw new CliError('apikey revoke needs the id or label of a key (see `infernet apikey list`)');
      for (const key of await revokeApiKey(file, target)) console.log(`revoked ${key.id}${key.label ? ` (${key.label})` : ''}`);
      return;
    }
  } catch (error) {
    if (error instanceof ApiKeyFileError || error instanceof ApiKeyNotFoundError) throw new CliError(error.message);
    throw error;
  }
  throw new CliError(`unknown apikey action ${action ? `"${action}"` : '(none)'}: use create, list or revoke`, EXIT_CODES.usage);
}

function printKeys(keys: StoredApiKey[], json: boolean): void {
  if (json) return console.log(JSON.stringify(keys.map(({ id, label, createdAt }) => ({ id, label, createdAt })), null, 2));
  if (!keys.length) return console.log('no API keys (create one with `infernet apikey create`)');
  for (const key of keys) console.log(`${key.id}  ${key.createdAt}  ${key.label}`);
}
