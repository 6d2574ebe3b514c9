import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { describe, it } from 'node:test';
import { base58btc } from 'multiformats/bases/base58';
import { CID } from 'multiformats/cid';
import { create as createDigest } from 'multiformats/hashes/digest';
import { ContentId, isContentIdText } from './content-id.js';

const RAW = 0x55;
const DAG_PB = 0x70;
const SHA2_256 = 0x12;

function sampleCids(count: number): CID[] {
  const cids: CID[] = [];
  for (let i = 0; i < count; i++) {
    const digest = createDigest(SHA2_256, createHash('sha256').update(randomBytes(32)).digest());
    cids.push(CID.createV1(i % 2 ? RAW : DAG_PB, digest), CID.createV0(digest as never));
  }
  return cids;
}

/** What multiformats says, restricted to the characters a path can never take from a CID. */
function parsesAsCid(text: string): boolean {
  if (!/^[A-Za-z0-9]+$/.test(text)) return false;
  try {
    CID.parse(text, text[0] === 'z' ? base58btc : undefined);
    return true;
  } catch {
    return false;
  }
}

describe('isContentIdText', () => {
  it('accepts every CID multiformats writes, in base32, base58btc and as CIDv0', () => {
    for (const cid of sampleCids(50)) {
      for (const text of cid.version === 0 ? [cid.toString()] : [cid.toString(), cid.toString(base58btc)]) {
        assert.equal(isContentIdText(text), true, text);
        assert.equal(ContentId.safeParse(text).success, true, text);
      }
    }
  });

  it('agrees with multiformats on cut, grown and altered CIDs', () => {
    for (const cid of sampleCids(40)) {
      const text = cid.toString();
      const variants = [text.slice(0, -1), text.slice(0, -3), `${text}a`, `${text}aa`, text.replace(/.$/, (c) => (c === 'a' ? 'b' : 'a')), text.toUpperCase(), `x${text.slice(1)}`];
      for (const variant of variants) assert.equal(isContentIdText(variant), parsesAsCid(variant), variant);
    }
  });

  it('refuses paths and free strings before any decoding', () => {
    for (const text of ['../../etc/passwd', 'bafy/../../x', 'bafkrei.', 'not-a-cid', 'QmQmQmQm', '', 'b', 'z']) {
      assert.equal(isContentIdText(text), false, text);
    }
  });
});
