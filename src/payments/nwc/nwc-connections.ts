// The NWC connections a node operator handed out, kept in the node's wallet file (mode 0600) under `nwc`: the
// wallet service's own key and, per connection, the client's public key and budget. The client's secret is
// only ever in the URI printed once: the spec asks the service not to keep it.
import { randomUUID } from 'node:crypto';
import { chmod, readFile, rename, stat, writeFile } from 'node:fs/promises';
import { generateSecretKey, getPublicKey } from 'nostr-tools/pure';
import { bytesToHex, hexToBytes } from 'nostr-tools/utils';
import { z } from 'zod';
import { NwcStateError } from './nwc-errors.js';
import { formatNwcUri, parseNwcUri, type NwcConnectionUri } from './nwc-uri.js';

const HexKey = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters');

export const NwcConnection = z
  .object({
    /** The client's public key: requests signed by it are this connection's. */
    pubkey: HexKey,
    name: z.string(),
    maxPaymentSat: z.number().int().positive(),
    maxDailySat: z.number().int().positive(),
    createdAt: z.string(),
    revokedAt: z.string().optional(),
  })
  .strict();
export type NwcConnection = z.infer<typeof NwcConnection>;

export const NwcWalletSection = z
  .object({
    /** The wallet service's secret key (hex): the key the connection URIs name and the info event is signed with. */
    serviceSecretKey: HexKey,
    connections: z.array(NwcConnection).default([]),
    /** The other direction: a wallet this node pays through (a client's own NWC wallet), by its connection URI. */
    payWith: z.object({ uri: z.string(), setAt: z.string() }).strict().optional(),
  })
  .strict();
export type NwcWalletSection = z.infer<typeof NwcWalletSection>;

/** Budgets for a connection made without flags: small, since a phone holding the URI can spend them. */
export const DEFAULT_MAX_PAYMENT_SAT = 10_000;
export const DEFAULT_MAX_DAILY_SAT = 50_000;

export interface NewConnection {
  uri: string;
  pubkey: string;
  walletPubkey: string;
  name: string;
  relays: string[];
  maxPaymentSat: number;
  maxDailySat: number;
}

/** The `nwc` section of the wallet file; undefined while no connection was ever made. */
export async function readNwcSection(walletPath: string): Promise<NwcWalletSection | undefined> {
  const raw = await readWalletJson(walletPath);
  if (raw.nwc === undefined) return undefined;
  const parsed = NwcWalletSection.safeParse(raw.nwc);
  if (!parsed.success) throw new NwcStateError(`${walletPath}: nwc: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ')}`);
  return parsed.data;
}

/** The service's key, made and saved on first use. */
export async function ensureServiceKey(walletPath: string): Promise<Uint8Array> {
  const section = await updateNwcSection(walletPath, (section) => section);
  return hexToBytes(section.serviceSecretKey);
}

export async function createConnection(walletPath: string, options: { relays: string[]; name?: string; maxPaymentSat?: number; maxDailySat?: number }): Promise<NewConnection> {
  const clientSecret = generateSecretKey();
  const connection: NwcConnection = {
    pubkey: getPublicKey(clientSecret),
    name: options.name ?? `connection-${randomUUID().slice(0, 8)}`,
    maxPaymentSat: options.maxPaymentSat ?? DEFAULT_MAX_PAYMENT_SAT,
    maxDailySat: options.maxDailySat ?? DEFAULT_MAX_DAILY_SAT,
    createdAt: new Date().toISOString(),
  };
  const section = await updateNwcSection(walletPath, (current) => ({ ...current, connections: [...current.connections, connection] }));
  const walletPubkey = getPublicKey(hexToBytes(section.serviceSecretKey));
  const uri = formatNwcUri({ walletPubkey, relays: options.relays, secret: bytesToHex(clientSecret) });
  return { uri, pubkey: connection.pubkey, walletPubkey, name: connection.name, relays: options.relays, maxPaymentSat: connection.maxPaymentSat, maxDailySat: connection.maxDailySat };
}

/** Marks a connection revoked (kept, so its spending stays explained); the running service refuses it from its next request. */
export async function revokeConnection(walletPath: string, pubkey: string): Promise<NwcConnection> {
  let revoked: NwcConnection | undefined;
  await updateNwcSection(walletPath, (section) => {
    const connections = section.connections.map((connection) => {
      if (connection.pubkey !== pubkey.toLowerCase()) return connection;
      revoked = connection.revokedAt ? connection : { ...connection, revokedAt: new Date().toISOString() };
      return revoked;
    });
    if (!revoked) throw new NwcStateError(`${walletPath} has no NWC connection with the public key ${pubkey}`);
    return { ...section, connections };
  });
  return revoked!;
}

/** Records (or, with undefined, forgets) the URI of the wallet this node pays invoices through; checked before it is kept. */
export async function setPayWith(walletPath: string, uri: string | undefined): Promise<NwcConnectionUri | undefined> {
  const parsed = uri === undefined ? undefined : parseNwcUri(uri);
  await updateNwcSection(walletPath, ({ payWith: _previous, ...section }) => (uri === undefined ? section : { ...section, payWith: { uri, setAt: new Date().toISOString() } }));
  return parsed;
}

/** Rewrites only the `nwc` section, keeping the rest of the wallet file; written whole to a temporary file, then renamed. */
async function updateNwcSection(walletPath: string, change: (section: NwcWalletSection) => NwcWalletSection): Promise<NwcWalletSection> {
  const raw = await readWalletJson(walletPath);
  const current = (await readNwcSection(walletPath)) ?? { serviceSecretKey: bytesToHex(generateSecretKey()), connections: [] };
  const next = change(current);
  const temporary = `${walletPath}.${process.pid}.tmp`;
  await writeFile(temporary, JSON.stringify({ ...raw, nwc: next }, null, 2) + '\n', { mode: 0o600 });
  await chmod(temporary, 0o600);
  await rename(temporary, walletPath);
  return next;
}

async function readWalletJson(walletPath: string): Promise<Record<string, unknown>> {
  let text: string;
  try {
    text = await readFile(walletPath, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new NwcStateError(`cannot read the wallet file ${walletPath}`, { cause });
  }
  const open = (await stat(walletPath)).mode & 0o077;
  if (open) throw new NwcStateError(`${walletPath} is readable by other users (mode ${(open | 0o600).toString(8)}): chmod 600 ${walletPath}`);
  try {
    const data: unknown = JSON.parse(text);
    if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new Error('not a JSON object');
    return data as Record<string, unknown>;
  } catch (cause) {
    throw new NwcStateError(`${walletPath}: not a JSON object`, { cause });
  }
}
