// The CIDs must be the ones kubo computes (`ipfs add --cid-version 1 --raw-leaves`, size-262144, balanced,
// 174 links): checked against a CID kubo published, against raw CIDs derived with multiformats' own sha256,
// and against DAGs built here by a separate, kubo-style recursive construction.
import assert from 'node:assert/strict';
import { createCipheriv } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import * as dagPb from '@ipld/dag-pb';
import { UnixFS } from 'ipfs-unixfs';
import { CID } from 'multiformats/cid';
import * as raw from 'multiformats/codecs/raw';
import { sha256 } from 'multiformats/hashes/sha2';
import { CHUNK_SIZE, MAX_LINKS } from './constants.js';
import { ContentStore } from './content-store.js';
import { decodeFileNode, FileDagBuilder } from './file-dag.js';

/** Deterministic pseudo-random bytes (AES-CTR keystream). */
function bytesOf(length: number, seed = 1): Buffer {
  const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16, seed), Buffer.alloc(16, 0));
  return cipher.update(Buffer.alloc(length));
}

async function rawCid(bytes: Uint8Array): Promise<CID> {
  return CID.create(1, raw.code, await sha256.digest(bytes));
}

interface Built {
  cid: CID;
  fileSize: number;
  tsize: number;
}

/**
 * kubo's balanced layout written the other way round: choose the depth first (the smallest d with
 * links^d >= leaves), then split the leaves into full subtrees of links^(d-1) from the left, recursively.
 */
async function handBuilt(leaves: Uint8Array[], links: number): Promise<CID> {
  if (leaves.length === 1) return rawCid(leaves[0]!);
  let depth = 1;
  while (links ** depth < leaves.length) depth++;
  const build = async (group: Uint8Array[], level: number): Promise<Built> => {
    if (level === 0) return { cid: await rawCid(group[0]!), fileSize: group[0]!.byteLength, tsize: group[0]!.byteLength };
    const span = links ** (level - 1);
    const children: Built[] = [];
    for (let start = 0; start < group.length; start += span) children.push(await build(group.slice(start, start + span), level - 1));
    const data = new UnixFS({ type: 'file', blockSizes: children.map((child) => BigInt(child.fileSize)) }).marshal();
    const bytes = dagPb.encode({ Data: data, Links: children.map((child) => ({ Hash: child.cid, Name: '', Tsize: child.tsize })) });
    const cid = CID.create(1, dagPb.code, await sha256.digest(bytes));
    return { cid, fileSize: children.reduce((sum, child) => sum + child.fileSize, 0), tsize: bytes.byteLength + children.reduce((sum, child) => sum + child.tsize, 0) };
  };
  return (await build(leaves, depth)).cid;
}

function built(leaves: Uint8Array[], maxLinks?: number): CID {
  const builder = new FileDagBuilder(maxLinks ? { maxLinks } : {});
  for (const leaf of leaves) builder.addLeaf(leaf);
  return builder.finish().cid;
}

describe('content ids of files', () => {
  it('gives "hello\\n" the CID kubo published for it (ipfs add --cid-version 1)', () => {
    assert.equal(built([Buffer.from('hello\n')]).toString(), 'bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am');
  });

  it('gives an empty file the raw CID of no bytes', async () => {
    assert.equal(built([]).toString(), (await rawCid(new Uint8Array(0))).toString());
    assert.equal(built([]).toString(), 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku');
  });

  it('names a file of one full chunk by the raw-leaf CID of its bytes', async () => {
    const bytes = bytesOf(CHUNK_SIZE);
    assert.equal(built([bytes]).toString(), (await rawCid(bytes)).toString());
  });

  it('builds the same balanced tree as the depth-first construction for every shape up to three levels', async () => {
    const links = 3;
    for (const count of [2, 3, 4, 5, 8, 9, 10, 12, 26, 27, 28, 30]) {
      const leaves = Array.from({ length: count }, (_, index) => bytesOf(100 + (index === count - 1 ? 0 : 0), index + 1));
      assert.equal(built(leaves, links).toString(), (await handBuilt(leaves, links)).toString(), `${count} leaves`);
    }
  });

  it('puts a short last chunk in the last leaf and counts it in every size', async () => {
    const leaves = [bytesOf(CHUNK_SIZE, 1), bytesOf(CHUNK_SIZE, 2), bytesOf(1234, 3)];
    const cid = built(leaves);
    assert.equal(cid.toString(), (await handBuilt(leaves, MAX_LINKS)).toString());
    assert.match(cid.toString(), /^bafybei/);
  });

  it('chunks a file of 175 chunks plus a tail into two levels exactly as the hand-built DAG (real parameters)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infernet-dag-'));
    try {
      const bytes = bytesOf(175 * CHUNK_SIZE + 4321, 9);
      const path = join(dir, 'file.bin');
      await writeFile(path, bytes);
      const leaves: Uint8Array[] = [];
      for (let offset = 0; offset < bytes.byteLength; offset += CHUNK_SIZE) leaves.push(bytes.subarray(offset, offset + CHUNK_SIZE));
      const store = new ContentStore(join(dir, 'home'));
      const manifest = await store.add(path, { inPlace: true });
      assert.equal(manifest.cid, (await handBuilt(leaves, MAX_LINKS)).toString());
      assert.equal(manifest.size, bytes.byteLength);
      assert.equal(manifest.leaves, 176);
      // The root and its two children are in the store, and decode to the file's layout.
      const root = decodeFileNode(CID.parse(manifest.cid), (await store.getBlock(CID.parse(manifest.cid)))!);
      assert.equal(root.fileSize, bytes.byteLength);
      assert.deepEqual(root.children.map((child) => child.fileSize), [174 * CHUNK_SIZE, CHUNK_SIZE + 4321]);
      for (const child of root.children) assert.ok(await store.getBlock(child.cid), 'internal node stored');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('refuses a node that is not a UnixFS file', async () => {
    const bytes = dagPb.encode({ Data: new UnixFS({ type: 'directory' }).marshal(), Links: [] });
    const cid = CID.create(1, dagPb.code, await sha256.digest(bytes));
    assert.throws(() => decodeFileNode(cid, bytes), { name: 'UnsupportedContentError' });
  });
});
