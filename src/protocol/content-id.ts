// A content id as it arrives from a peer: parsed as a CID at the edge, because ids are joined into paths (the
// content store's roots/<cid>.json, a model's folder) and a free string such as `../../x` would leave the store.
import { CID } from 'multiformats/cid';
import { z } from 'zod';

/** True when `text` is a CID that multiformats parses (CIDv1 in base32/base58, or a CIDv0 `Qm...`). */
export function isContentIdText(text: string): boolean {
  // Only the characters of base32 and base58btc: a CID in those bases never holds `/`, `.` or `\`.
  if (!/^[A-Za-z0-9]+$/.test(text)) return false;
  try {
    CID.parse(text);
    return true;
  } catch {
    return false;
  }
}

/** A CID in text (8 to 256 characters), refused with a clear message when it is anything else. */
export const ContentId = z
  .string()
  .min(8)
  .max(256)
  .refine(isContentIdText, { message: 'is not a content id (a CID such as bafy... or bafk...)' });
