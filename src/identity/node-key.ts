// A node's identity is one Nostr key pair. The secret key lives in the node home, mode 0600, optionally
// encrypted with a passphrase (NIP-49).
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { decode, npubEncode, nsecEncode } from 'nostr-tools/nip19';
import { decrypt as decryptNip49, encrypt as encryptNip49 } from 'nostr-tools/nip49';
import { generateSecretKey, getPublicKey } from 'nostr-tools/pure';
import { InfernetError } from '../errors/index.js';

export interface NodeKey {
  readonly secretKey: Uint8Array;
  /** 64 lowercase hex characters, the form used on the wire. */
  readonly publicKey: string;
  /** The bech32 form shown to people. */
  readonly npub: string;
}

export class KeyFileError extends InfernetError {
  override readonly name = 'KeyFileError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('internal', message, options);
  }
}

export function nodeKeyFromSecret(secretKey: Uint8Array): NodeKey {
  const publicKey = getPublicKey(secretKey);
  return { secretKey, publicKey, npub: npubEncode(publicKey) };
}

export function generateNodeKey(): NodeKey {
  return nodeKeyFromSecret(generateSecretKey());
}

export function npubOf(publicKeyHex: string): string {
  return npubEncode(publicKeyHex);
}

/** Accepts an npub or 64 hex characters and returns the hex form. */
export function publicKeyFromText(text: string): string {
  if (/^[0-9a-f]{64}$/.test(text)) return text;
  try {
    const decoded = decode(text);
    if (decoded.type === 'npub') return decoded.data;
  } catch (cause) {
    throw new KeyFileError(`"${text}" is neither an npub nor a 64-character hex public key`, { cause });
  }
  throw new KeyFileError(`"${text}" is not an npub`);
}

/** Writes the key as an nsec, or as an NIP-49 ncryptsec when a passphrase is given. Mode 0600. */
export async function saveNodeKey(path: string, key: NodeKey, passphrase?: string): Promise<void> {
  const text = passphrase ? encryptNip49(key.secretKey, passphrase) : nsecEncode(key.secretKey);
  await writeFile(path, text + '\n', { mode: 0o600, flag: 'wx' });
  await chmod(path, 0o600);
}

export async function loadNodeKey(path: string, passphrase?: string): Promise<NodeKey> {
  let text: string;
  try {
    text = (await readFile(path, 'utf8')).trim();
  } catch (cause) {
    throw new KeyFileError(`cannot read the node key at ${path}: run \`infernet init\` first`, { cause });
  }
  await warnIfReadableByOthers(path);
  if (text.startsWith('ncryptsec1')) {
    if (!passphrase) throw new KeyFileError(`the node key at ${path} is encrypted: set INFERNET_PASSPHRASE`);
    try {
      return nodeKeyFromSecret(decryptNip49(text, passphrase));
    } catch (cause) {
      throw new KeyFileError(`cannot decrypt the node key at ${path}: wrong passphrase?`, { cause });
    }
  }
  try {
    const decoded = decode(text);
    if (decoded.type !== 'nsec') throw new Error(`found ${decoded.type}`);
    return nodeKeyFromSecret(decoded.data);
  } catch (cause) {
    throw new KeyFileError(`the node key at ${path} is not an nsec or ncryptsec`, { cause });
  }
}

async function warnIfReadableByOthers(path: string): Promise<void> {
  const mode = (await stat(path)).mode & 0o777;
  if (mode & 0o077) throw new KeyFileError(`the node key at ${path} is readable by others (mode ${mode.toString(8)}): chmod 600 it`);
}
