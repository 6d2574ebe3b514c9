// The connection URI of NIP-47: nostr+walletconnect://<wallet service pubkey>?relay=<ws url>&secret=<hex>[&lud16=...].
// The secret is the client's own Nostr key for this connection; the wallet only ever knows its public key.
import { NwcUriError } from './nwc-errors.js';

export const NWC_URI_SCHEME = 'nostr+walletconnect:';

export interface NwcConnectionUri {
  /** The wallet service's public key, 64 lowercase hex characters. */
  walletPubkey: string;
  /** At least one ws:// or wss:// relay, in the URI's order. */
  relays: string[];
  /** The client's secret key for this connection, 64 lowercase hex characters. */
  secret: string;
  lud16?: string;
}

const HEX_KEY = /^[0-9a-f]{64}$/;

export function parseNwcUri(text: string): NwcConnectionUri {
  const match = /^nostr\+walletconnect:(?:\/\/)?([^/?#]*)\/?(?:\?([^#]*))?$/i.exec(text.trim());
  if (!match) throw new NwcUriError(`it must start with ${NWC_URI_SCHEME}//`);
  const walletPubkey = match[1]!.toLowerCase();
  if (!HEX_KEY.test(walletPubkey)) throw new NwcUriError(`the wallet public key "${match[1]}" is not 64 hex characters`);
  const query = new URLSearchParams(match[2] ?? '');
  const relays = query.getAll('relay');
  if (!relays.length) throw new NwcUriError('it names no relay (relay=wss://...)');
  for (const relay of relays) if (!isRelayUrl(relay)) throw new NwcUriError(`the relay "${relay}" is not a ws:// or wss:// URL`);
  const secret = query.get('secret');
  if (secret === null) throw new NwcUriError('it has no secret');
  if (!HEX_KEY.test(secret.toLowerCase())) throw new NwcUriError('the secret is not 64 hex characters');
  const lud16 = query.get('lud16');
  return { walletPubkey, relays, secret: secret.toLowerCase(), ...(lud16 ? { lud16 } : {}) };
}

export function formatNwcUri(connection: NwcConnectionUri): string {
  const query = new URLSearchParams();
  for (const relay of connection.relays) query.append('relay', relay);
  query.set('secret', connection.secret);
  if (connection.lud16) query.set('lud16', connection.lud16);
  return `${NWC_URI_SCHEME}//${connection.walletPubkey}?${query.toString()}`;
}

function isRelayUrl(text: string): boolean {
  try {
    const url = new URL(text);
    return (url.protocol === 'ws:' || url.protocol === 'wss:') && url.host.length > 0;
  } catch {
    return false;
  }
}
