// The link a node shows (as text or a QR code) for a phone to connect: the node's npub and WebSocket URL, and
// after `infernet pair --phone` the grant and the PocketBase account the phone syncs its job history with.
// Pure: the mobile app imports this file as is, in React Native and in the browser; its one import, src/errors,
// is as pure (it imports only types from here), and the app's Metro config watches that folder too.
import { InfernetError } from '../errors/index.js';

export const PAIRING_LINK_SCHEME = 'infernet:';

export interface PairingLink {
  /** The node's npub: the key the phone expects in the session handshake. */
  node: string;
  /** ws:// or wss:// URL of the node's listener. */
  ws: string;
  grant?: {
    id: string;
    models: string[];
    maxTokens: number;
    jobsPerHour: number;
    /** "AMOUNT CURRENCY per UNIT", e.g. "0.05 USDC per 1k_tokens". */
    priceCap?: string;
    expiresAt: number;
  };
  pocketbase?: { url: string; email: string; password: string };
}

/**
 * A pairing link that does not read. Its wire code is invalid_frame: the link is the node's offer as data, and one
 * that does not match its shape is the input's fault (400 were an API to answer it), like a frame that does not
 * match its schema; no code names a link of its own.
 */
export class PairingLinkError extends InfernetError {
  override readonly name = 'PairingLinkError';
  constructor(message: string) {
    super('invalid_frame', message);
  }
}

export function formatPairingLink(link: PairingLink): string {
  const params = new URLSearchParams({ node: link.node, ws: link.ws });
  if (link.grant) {
    params.set('grant', link.grant.id);
    if (link.grant.models.length) params.set('models', link.grant.models.join(','));
    params.set('max', String(link.grant.maxTokens));
    params.set('rate', String(link.grant.jobsPerHour));
    if (link.grant.priceCap) params.set('cap', link.grant.priceCap);
    params.set('exp', String(link.grant.expiresAt));
  }
  if (link.pocketbase) {
    params.set('pb', link.pocketbase.url);
    params.set('user', link.pocketbase.email);
    params.set('pass', link.pocketbase.password);
  }
  return `${PAIRING_LINK_SCHEME}//pair?${params.toString()}`;
}

/** Reads a pairing link, or a bare `ws(s)://...#npub1...` URL typed by hand. Throws PairingLinkError. */
export function parsePairingLink(text: string): PairingLink {
  const trimmed = text.trim();
  const bare = /^(wss?:\/\/[^#\s]+)#(npub1[02-9ac-hj-np-z]+)$/.exec(trimmed);
  if (bare) return { ws: checkSocketUrl(bare[1]!), node: bare[2]! };
  const query = /^infernet:\/\/pair\?(.*)$/.exec(trimmed)?.[1];
  if (query === undefined) throw new PairingLinkError('not a pairing link: expected infernet://pair?... or wss://host:port#npub1...');
  const params = new URLSearchParams(query);
  const node = params.get('node') ?? '';
  if (!/^npub1[02-9ac-hj-np-z]{58}$/.test(node)) throw new PairingLinkError('the pairing link names no valid node npub');
  const link: PairingLink = { node, ws: checkSocketUrl(params.get('ws') ?? '') };
  const grant = params.get('grant');
  if (grant) {
    link.grant = {
      id: grant,
      models: (params.get('models') ?? '').split(',').filter(Boolean),
      maxTokens: positiveInteger(params.get('max'), 'max'),
      jobsPerHour: positiveInteger(params.get('rate'), 'rate'),
      expiresAt: positiveInteger(params.get('exp'), 'exp'),
      ...(params.get('cap') ? { priceCap: params.get('cap')! } : {}),
    };
  }
  const pb = params.get('pb');
  if (pb) {
    if (!/^https?:\/\//.test(pb)) throw new PairingLinkError(`the PocketBase URL "${pb}" is not http(s)`);
    link.pocketbase = { url: pb, email: params.get('user') ?? '', password: params.get('pass') ?? '' };
  }
  return link;
}

function checkSocketUrl(url: string): string {
  if (!/^wss?:\/\/[^\s/]+/.test(url)) throw new PairingLinkError(`"${url}" is not a ws:// or wss:// URL`);
  return url;
}

function positiveInteger(value: string | null, name: string): number {
  const number = Number(value);
  if (!Number.isSafeInteger(number) || number <= 0) throw new PairingLinkError(`the pairing link's "${name}" is not a positive integer`);
  return number;
}
