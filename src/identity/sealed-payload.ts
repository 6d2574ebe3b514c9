// End-to-end encryption of job payloads with NIP-44 v2. NIP-44 caps a plaintext at 65,535 bytes, so longer
// payloads are sealed as a JSON array of NIP-44 payloads whose plaintexts concatenate.
import { decrypt, encrypt, getConversationKey } from 'nostr-tools/nip44';
import { InfernetError } from '../errors/index.js';

const NIP44_MAX_PLAINTEXT_BYTES = 65_535;

export class DecryptionFailedError extends InfernetError {
  override readonly name = 'DecryptionFailedError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('decryption_failed', message, options);
  }
}

/** Peers whose shared keys each local key remembers; an ECDH costs about 2 ms here, on every job's path. */
const CONVERSATION_KEY_CACHE_SIZE = 1024;
const conversationKeys = new WeakMap<Uint8Array, Map<string, Uint8Array>>();

/** The shared key of one pair of nodes, computed once per pair and remembered (least recently used dropped). */
export function conversationKeyOf(secretKey: Uint8Array, peerPublicKey: string): Uint8Array {
  let peers = conversationKeys.get(secretKey);
  if (!peers) conversationKeys.set(secretKey, (peers = new Map()));
  let key = peers.get(peerPublicKey);
  if (key) peers.delete(peerPublicKey);
  else key = getConversationKey(secretKey, peerPublicKey);
  peers.set(peerPublicKey, key);
  if (peers.size > CONVERSATION_KEY_CACHE_SIZE) peers.delete(peers.keys().next().value!);
  return key;
}

export function seal(plaintext: string, conversationKey: Uint8Array): string {
  if (Buffer.byteLength(plaintext) <= NIP44_MAX_PLAINTEXT_BYTES) return encrypt(plaintext, conversationKey);
  return JSON.stringify(splitUtf8(plaintext, NIP44_MAX_PLAINTEXT_BYTES).map((piece) => encrypt(piece, conversationKey)));
}

export function unseal(payload: string, conversationKey: Uint8Array): string {
  try {
    if (!payload.startsWith('[')) return decrypt(payload, conversationKey);
    const pieces: unknown = JSON.parse(payload);
    if (!Array.isArray(pieces) || !pieces.every((piece) => typeof piece === 'string')) throw new Error('not an array of payloads');
    return pieces.map((piece: string) => decrypt(piece, conversationKey)).join('');
  } catch (cause) {
    throw new DecryptionFailedError(`cannot decrypt payload: ${(cause as Error).message}`, { cause });
  }
}

/** Splits on code point boundaries so that no piece holds half a character. */
function splitUtf8(text: string, maxBytes: number): string[] {
  const pieces: string[] = [];
  let current = '';
  let currentBytes = 0;
  for (const char of text) {
    const bytes = Buffer.byteLength(char);
    if (currentBytes + bytes > maxBytes) {
      pieces.push(current);
      current = '';
      currentBytes = 0;
    }
    current += char;
    currentBytes += bytes;
  }
  if (current) pieces.push(current);
  return pieces;
}
