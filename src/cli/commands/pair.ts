// `infernet pair`: the link (text or QR payload) a phone connects with, and the revocable grant that lets one
// phone key submit jobs to this node within limits.
import { parseArgs } from 'node:util';
import { DEFAULT_GRANT_LIMITS, GrantNotFoundError, GrantsFileError, listGrants, pairPhone, revokeGrants, runningPocketBaseUrl, type GrantLimits, type GrantSummary } from '../../grants/index.js';
import { readLiveDaemonState } from '../../node/index.js';
import { formatPairingLink, Price, type PairingLink } from '../../protocol/index.js';
import type { NodeConfig } from '../../config/index.js';
import { openHomePocketBase } from '../../storage/index.js';
import { EXIT_CODES } from '../../errors/index.js';
import { CliError } from '../cli-error.js';
import { openNode } from '../open-node.js';

export const PAIR_USAGE = `infernet pair --home DIR [--phone NPUB] [--models A,B] [--max-tokens N] [--jobs-per-hour N]
    [--price-cap "AMOUNT CURRENCY [per job|1k_tokens]"] [--days N] [--url WS_URL] [--pocketbase-url URL] [--json]
    prints the link (QR payload) a phone connects with; with --phone, a signed grant for that phone key
infernet pair list --home DIR [--json]
infernet pair revoke --home DIR GRANT_ID_OR_PHONE_NPUB [--json]`;

const DAY_MS = 24 * 60 * 60 * 1000;

export async function pairCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      home: { type: 'string' },
      phone: { type: 'string' },
      models: { type: 'string' },
      'max-tokens': { type: 'string' },
      'jobs-per-hour': { type: 'string' },
      'price-cap': { type: 'string' },
      days: { type: 'string' },
      url: { type: 'string' },
      'pocketbase-url': { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  const { home, config, key } = await openNode(values.home);
  const json = Boolean(values.json);
  const [action, target] = positionals;
  try {
    if (action === 'list') return printGrants(await listGrants(home.dir, key.publicKey), json);
    if (action === 'revoke') {
      if (!target) throw new CliError('pair revoke needs a grant id or a phone npub (see `infernet pair list`)');
      const revoked = await withHistoryBackend(home.dir, config, (adminUrl) => revokeGrants(home.dir, key.publicKey, target, adminUrl));
      if (json) return console.log(JSON.stringify({ revoked }, null, 2));
      for (const grant of revoked) console.log(`revoked ${grant.grantId} (${grant.phoneNpub})`);
      return;
    }
    if (action !== undefined) throw new CliError(`unknown pair action "${action}": use list or revoke, or none to pair`, EXIT_CODES.usage);
    const daemon = await readLiveDaemonState(home.daemonStateFile);
    const ws = values.url ?? daemon?.url ?? (config.listen.port ? `ws://${config.listen.host}:${config.listen.port}` : undefined);
    if (!ws || !/^wss?:\/\//.test(ws)) throw new CliError('no WebSocket URL for this node: start it (`infernet start`) or pass --url wss://HOST:PORT');
    if (!values.phone) return printLink({ node: key.npub, ws }, formatPairingLink({ node: key.npub, ws }), null, json);
    const adminUrl = config.storage.backend === 'file' ? undefined : (config.storage.url ?? (await runningPocketBaseUrl(home.dir)));
    const pocketbaseUrl = values['pocketbase-url'] ?? adminUrl;
    const paired = await pairPhone({
      homeDir: home.dir,
      key,
      phone: values.phone,
      limits: limitsFrom(values),
      ws,
      ...(pocketbaseUrl ? { pocketbaseUrl } : {}),
      ...(adminUrl ? { pocketbaseAdminUrl: adminUrl } : {}),
    });
    if (!pocketbaseUrl && !json) console.error('note: no PocketBase is running for this node: the phone gets no job history (start the daemon first)');
    printLink(paired.link, paired.url, paired.terms.grantId, json);
  } catch (error) {
    if (error instanceof GrantNotFoundError || error instanceof GrantsFileError) throw new CliError(error.message);
    if ((error as Error).name === 'KeyFileError') throw new CliError(`--phone: ${(error as Error).message}`);
    throw error;
  }
}

/**
 * Runs `action` with the URL of the PocketBase holding the phones' history accounts: the external one, the one
 * the daemon runs, or one started here for the moment, so that a revocation deletes the account even while the
 * daemon is stopped. None for a file store.
 */
async function withHistoryBackend<T>(homeDir: string, config: NodeConfig, action: (adminUrl: string | undefined) => Promise<T>): Promise<T> {
  if (config.storage.backend === 'file') return action(undefined);
  if (config.storage.url) return action(config.storage.url);
  // The daemon's backend when it runs (shared, left running), else one started for the moment.
  const backend = await openHomePocketBase(homeDir);
  try {
    return await action(backend.url);
  } finally {
    await backend.close();
  }
}

function limitsFrom(values: Record<string, string | boolean | undefined>): GrantLimits {
  const integer = (name: string, fallback: number): number => {
    const raw = values[name];
    if (raw === undefined) return fallback;
    const value = Number(raw);
    if (!Number.isSafeInteger(value) || value < 1) throw new CliError(`--${name} must be a positive integer, got "${String(raw)}"`);
    return value;
  };
  const models = typeof values.models === 'string' ? values.models.split(',').map((name) => name.trim()).filter(Boolean) : [...DEFAULT_GRANT_LIMITS.models];
  const priceCap = typeof values['price-cap'] === 'string' ? parsePriceCap(values['price-cap']) : undefined;
  return {
    models,
    maxTokens: integer('max-tokens', DEFAULT_GRANT_LIMITS.maxTokens),
    jobsPerHour: integer('jobs-per-hour', DEFAULT_GRANT_LIMITS.jobsPerHour),
    expiresAt: Date.now() + integer('days', DEFAULT_GRANT_LIMITS.days) * DAY_MS,
    ...(priceCap ? { priceCap } : {}),
  };
}

/** "0.05 USDC", "0.05 USDC per job" or "0.05 USDC per 1k_tokens". */
function parsePriceCap(text: string): Price {
  const match = /^\s*(\S+)\s+(\S+)(?:\s+per\s+(\S+))?\s*$/.exec(text);
  const parsed = Price.safeParse(match ? { amount: match[1], currency: match[2], per: match[3] ?? '1k_tokens' } : {});
  if (!parsed.success) throw new CliError(`--price-cap must read "AMOUNT CURRENCY [per job|1k_tokens]", e.g. "0.05 USDC", got "${text}"`);
  return parsed.data;
}

function printLink(link: PairingLink, url: string, grantId: string | null, json: boolean): void {
  if (json) {
    const { pocketbase, ...rest } = link;
    return console.log(JSON.stringify({ url, ...rest, grantId, pocketbase: pocketbase ? { url: pocketbase.url, email: pocketbase.email } : null }, null, 2));
  }
  console.log(url);
  console.log(`\nOpen the Infernet app, Settings > Connect, and scan or paste the link above (node ${link.node} at ${link.ws}).`);
  if (grantId) console.log(`Grant ${grantId}; revoke it with \`infernet pair revoke ${grantId}\`.`);
}

function printGrants(grants: GrantSummary[], json: boolean): void {
  if (json) return console.log(JSON.stringify(grants, null, 2));
  if (!grants.length) return console.log('no phones paired (pair one with `infernet pair --phone NPUB`)');
  for (const grant of grants) {
    const { limits } = grant;
    console.log(`${grant.grantId}  ${grant.status.padEnd(7)}  ${grant.phoneNpub}  models=${limits.models.join(',') || 'any'} maxTokens=${limits.maxTokens} jobs/h=${limits.jobsPerHour} (${grant.jobsLastHour} used) push tokens=${grant.pushTokens.length}`);
  }
}
