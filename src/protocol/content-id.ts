// A content id as it arrives from a peer: parsed as a CID at the edge, because ids are joined into paths (the
// content store's roots/<cid>.json, a model's folder) and a free string such as `../../x` would leave the store.
// The parse is written here, dependency-free, because the protocol schemas are bundled into the phone and desktop
// apps as well; content-id.test.ts holds it to multiformats' own CID parser.
import { z } from 'zod';

const BASE32_ALPHABET = 'abcdefghijklmnopqrstuvwxyz234567';
const BASE58_ALPHABET = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz';
/** multihash sha2-256 and its digest length: a CIDv0 is exactly this multihash. */
const SHA2_256 = 0x12;

/**
 * True when `text` is a CID in one of the text forms Infernet writes and reads: CIDv1 in base32 (`b...`) or
 * base58btc (`z...`), or a CIDv0 (`Qm...`).
 */
export function isContentIdText(text: string): boolean {
  // Only the characters of base32 and base58btc: a CID in those bases never holds `/`, `.` or `\`.
  if (!/^[A-Za-z0-9]+$/.test(text)) return false;
  if (text.length === 46 && text.startsWith('Qm')) {
    const bytes = decodeBase58(text);
    return bytes !== undefined && bytes.length === 34 && bytes[0] === SHA2_256 && bytes[1] === 32;
  }
  const bytes = text[0] === 'b' ? decodeBase32(text.slice(1)) : text[0] === 'z' ? decodeBase58(text.slice(1)) : undefined;
  return bytes !== undefined && isCidV1Bytes(bytes);
}

/** A CID in text (8 to 256 characters), refused with a clear message when it is anything else. */
export const ContentId = z
  .string()
  .min(8)
  .max(256)
  .refine(isContentIdText, { message: 'is not a content id (a CID such as bafy... or bafk...)' });

/** version 1, a codec, then a multihash whose length prefix covers exactly the rest. */
function isCidV1Bytes(bytes: Uint8Array): boolean {
  const version = readVarint(bytes, 0);
  if (!version || version.value !== 1) return false;
  const codec = readVarint(bytes, version.next);
  if (!codec) return false;
  const hashCode = readVarint(bytes, codec.next);
  if (!hashCode) return false;
  const digestLength = readVarint(bytes, hashCode.next);
  return digestLength !== undefined && digestLength.next + digestLength.value === bytes.length;
}

/** An unsigned LEB128 varint of at most 9 bytes (multiformats' limit), or undefined when cut short. */
function readVarint(bytes: Uint8Array, offset: number): { value: number; next: number } | undefined {
  let value = 0;
  for (let i = 0; i < 9 && offset + i < bytes.length; i++) {
    const byte = bytes[offset + i]!;
    value += (byte & 0x7f) * 2 ** (7 * i);
    if ((byte & 0x80) === 0) return { value, next: offset + i + 1 };
  }
  return undefined;
}

function decodeBase32(text: string): Uint8Array | undefined {
  const out: number[] = [];
  let buffer = 0;
  let bits = 0;
  for (const char of text) {
    const index = BASE32_ALPHABET.indexOf(char);
    if (index < 0) return undefined;
    buffer = (buffer << 5) | index;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push((buffer >> bits) & 0xff);
    }
  }
  // Leftover bits must be zero padding of less than one character.
  if (bits >= 5 || (buffer & ((1 << bits) - 1)) !== 0) return undefined;
  return Uint8Array.from(out);
}

function decodeBase58(text: string): Uint8Array | undefined {
  if (!text.length) return undefined;
  const bytes: number[] = [0];
  for (const char of text) {
    let carry = BASE58_ALPHABET.indexOf(char);
    if (carry < 0) return undefined;
    for (let i = 0; i < bytes.length; i++) {
      carry += bytes[i]! * 58;
      bytes[i] = carry & 0xff;
      carry >>= 8;
    }
    for (; carry > 0; carry >>= 8) bytes.push(carry & 0xff);
  }
  for (const char of text) {
    if (char !== '1') break;
    bytes.push(0);
  }
  return Uint8Array.from(bytes.reverse());
}
