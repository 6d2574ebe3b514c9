// The CLI's side of pairing: issue a grant for a phone key (with a PocketBase account for its job history),
// list grants with what the phones did, and revoke them. The daemon picks changes up at the next job.
import { randomBytes } from 'node:crypto';
import { npubOf, publicKeyFromText, type NodeKey } from '../identity/index.js';
import { formatPairingLink, type PairingLink } from '../protocol/index.js';
import { COLLECTIONS, connectPocketBase, findSharedBackend, loadOrCreateSuperuser } from '../storage/index.js';
import { verifyGrant, issueGrant, type GrantLimits, type GrantTerms } from './grant.js';
import { activityFileOf, grantsFileOf, readActivity, readGrants, writeGrants, type PushToken, type StoredGrant } from './grants-file.js';
import { InfernetError } from '../errors/index.js';

export class GrantNotFoundError extends InfernetError {
  override readonly name = 'GrantNotFoundError';
  constructor(readonly target: string) {
    super('internal', `no pairing grant with id or phone "${target}" (see \`infernet pair list\`)`);
  }
}

export interface PairPhoneParameters {
  homeDir: string;
  key: NodeKey;
  /** npub or hex key of the phone. */
  phone: string;
  limits: GrantLimits;
  /** The node's WebSocket URL as the phone reaches it. */
  ws: string;
  /** The PocketBase URL as the phone reaches it; without one the phone gets no history account. */
  pocketbaseUrl?: string;
  /** The URL this machine reaches the same PocketBase at, to create the account (defaults to pocketbaseUrl). */
  pocketbaseAdminUrl?: string;
  now?: number;
}

export interface PairPhoneReturnType {
  link: PairingLink;
  url: string;
  terms: GrantTerms;
}

export async function pairPhone(parameters: PairPhoneParameters): Promise<PairPhoneReturnType> {
  const { homeDir, key, limits, ws } = parameters;
  const phone = publicKeyFromText(parameters.phone);
  const { terms, event } = issueGrant(key, phone, limits, parameters.now);
  const stored: StoredGrant = { event };
  const link: PairingLink = {
    node: key.npub,
    ws,
    grant: {
      id: terms.grantId,
      models: limits.models,
      maxTokens: limits.maxTokens,
      jobsPerHour: limits.jobsPerHour,
      expiresAt: limits.expiresAt,
      ...(limits.priceCap ? { priceCap: `${limits.priceCap.amount} ${limits.priceCap.currency} per ${limits.priceCap.per}` } : {}),
    },
  };
  if (parameters.pocketbaseUrl) {
    const account = await createAppAccount(homeDir, parameters.pocketbaseAdminUrl ?? parameters.pocketbaseUrl, phone, terms.grantId);
    stored.appAccount = { email: account.email, recordId: account.recordId };
    link.pocketbase = { url: parameters.pocketbaseUrl, email: account.email, password: account.password };
  }
  const path = grantsFileOf(homeDir);
  await writeGrants(path, [...(await readGrants(path)), stored]);
  return { link, url: formatPairingLink(link), terms };
}

export interface GrantSummary {
  grantId: string;
  phone: string;
  phoneNpub: string;
  limits: GrantLimits;
  issuedAt: number;
  revokedAt: number | null;
  status: 'active' | 'revoked' | 'expired';
  jobsLastHour: number;
  pushTokens: PushToken[];
}

export async function listGrants(homeDir: string, nodePublicKey: string, now = Date.now()): Promise<GrantSummary[]> {
  const activity = await readActivity(activityFileOf(homeDir));
  return (await readGrants(grantsFileOf(homeDir))).map((stored) => {
    const terms = verifyGrant(stored.event, nodePublicKey);
    const phoneActivity = activity[terms.phone];
    return {
      grantId: terms.grantId,
      phone: terms.phone,
      phoneNpub: npubOf(terms.phone),
      limits: terms.limits,
      issuedAt: terms.issuedAt,
      revokedAt: stored.revokedAt ?? null,
      status: stored.revokedAt ? 'revoked' : now >= terms.limits.expiresAt ? 'expired' : 'active',
      jobsLastHour: (phoneActivity?.jobs ?? []).filter((at) => now - at < 3_600_000).length,
      pushTokens: phoneActivity?.pushTokens ?? [],
    };
  });
}

/**
 * Revokes every live grant whose id or phone (npub or hex) is `target`, and deletes the phone's PocketBase
 * account when the backend is reachable. The revocation itself is kept, so the grant can never come back.
 */
export async function revokeGrants(homeDir: string, nodePublicKey: string, target: string, pocketbaseAdminUrl?: string, now = Date.now()): Promise<GrantSummary[]> {
  const path = grantsFileOf(homeDir);
  const grants = await readGrants(path);
  const phone = /^npub1|^[0-9a-f]{64}$/.test(target) ? publicKeyFromText(target) : undefined;
  const matched = grants.filter((stored) => {
    const terms = verifyGrant(stored.event, nodePublicKey);
    return !stored.revokedAt && (terms.grantId === target || terms.phone === phone);
  });
  if (!matched.length) throw new GrantNotFoundError(target);
  for (const stored of matched) stored.revokedAt = now;
  await writeGrants(path, grants);
  if (pocketbaseAdminUrl) {
    for (const stored of matched) if (stored.appAccount) await deleteAppAccount(homeDir, pocketbaseAdminUrl, stored.appAccount.recordId);
  }
  const revokedIds = new Set(matched.map((stored) => verifyGrant(stored.event, nodePublicKey).grantId));
  return (await listGrants(homeDir, nodePublicKey, now)).filter((summary) => revokedIds.has(summary.grantId));
}

/** The PocketBase a running daemon (or another command) serves this home from, if any: not one left by a killed node. */
export async function runningPocketBaseUrl(homeDir: string): Promise<string | undefined> {
  return (await findSharedBackend(homeDir))?.url;
}

async function createAppAccount(homeDir: string, url: string, phone: string, grantId: string): Promise<{ email: string; password: string; recordId: string }> {
  const { credentials } = await loadOrCreateSuperuser(homeDir);
  const connection = await connectPocketBase({ url, superuser: credentials });
  try {
    const email = `phone-${phone.slice(0, 16)}-${grantId}@phones.infernet.local`;
    const password = randomBytes(18).toString('base64url');
    const record = await connection.client.collection(COLLECTIONS.apps).create({ email, password, passwordConfirm: password });
    return { email, password, recordId: record.id };
  } finally {
    await connection.close();
  }
}

async function deleteAppAccount(homeDir: string, url: string, recordId: string): Promise<void> {
  const { credentials } = await loadOrCreateSuperuser(homeDir);
  const connection = await connectPocketBase({ url, superuser: credentials });
  try {
    await connection.client.collection(COLLECTIONS.apps).delete(recordId).catch((error: { status?: number }) => {
      if (error.status !== 404) throw error;
    });
  } finally {
    await connection.close();
  }
}
