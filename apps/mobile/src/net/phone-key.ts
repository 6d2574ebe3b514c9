// The phone's own Nostr key: generated on the phone, never sent anywhere; the node knows only its public half.
import { decode, npubEncode, nsecEncode } from 'nostr-tools/nip19';
import { generateSecretKey, getPublicKey } from 'nostr-tools/pure';

export interface PhoneKey {
  readonly secretKey: Uint8Array;
  readonly publicKey: string;
  readonly npub: string;
}

export class PhoneKeyError extends Error {
  override readonly name = 'PhoneKeyError';
}

export function phoneKeyFromSecret(secretKey: Uint8Array): PhoneKey {
  const publicKey = getPublicKey(secretKey);
  return { secretKey, publicKey, npub: npubEncode(publicKey) };
}

export function generatePhoneKey(): PhoneKey {
  return phoneKeyFromSecret(generateSecretKey());
}

export function nsecOf(key: PhoneKey): string {
  return nsecEncode(key.secretKey);
}

export function phoneKeyFromNsec(nsec: string): PhoneKey {
  try {
    const decoded = decode(nsec.trim());
    if (decoded.type !== 'nsec') throw new Error(`found ${decoded.type}`);
    return phoneKeyFromSecret(decoded.data);
  } catch (cause) {
    throw new PhoneKeyError(`not an nsec: ${(cause as Error).message}`, { cause });
  }
}

export function publicKeyOfNpub(npub: string): string {
  try {
    const decoded = decode(npub);
    if (decoded.type === 'npub') return decoded.data;
  } catch (cause) {
    throw new PhoneKeyError(`"${npub}" is not an npub`, { cause });
  }
  throw new PhoneKeyError(`"${npub}" is not an npub`);
}
