// The UnixFS DAG of a file as kubo builds it with raw leaves and the balanced layout: leaves of CHUNK_SIZE
// bytes, internal dag-pb nodes of at most MAX_LINKS links, every leaf at the same depth, the tree filled from
// the left. A single-leaf file is that leaf. Pure: bytes in, blocks and CIDs out; the caller does the I/O.
import { createHash } from 'node:crypto';
import * as dagPb from '@ipld/dag-pb';
import { UnixFS } from 'ipfs-unixfs';
import { CID } from 'multiformats/cid';
import { create as createDigest } from 'multiformats/hashes/digest';
import { DAG_PB_CODE, MAX_LINKS, RAW_CODE } from './constants.js';
import { BlockMismatchError, UnsupportedContentError } from './errors.js';

const SHA2_256 = 0x12;

/** A child as its parent links to it. */
export interface DagLink {
  cid: CID;
  /** File bytes below it. */
  fileSize: number;
  /** Bytes of every block below it, itself included (dag-pb's Tsize). */
  dagSize: number;
}

/** sha256 through node:crypto (native, synchronous), wrapped as a multihash. */
export function cidOfBytes(code: typeof RAW_CODE | typeof DAG_PB_CODE, bytes: Uint8Array): CID {
  const digest = createHash('sha256').update(bytes).digest();
  return CID.createV1(code, createDigest(SHA2_256, new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength)));
}

/** Whether bytes are the block a CID names (sha2-256 only: that is what we build and accept). */
export function blockMatches(cid: CID, bytes: Uint8Array): boolean {
  return partsMatch(cid, [bytes]);
}

/** Whether a block that arrived in pieces is the block a CID names: hashed piece by piece, never joined. */
export function partsMatch(cid: CID, parts: readonly Uint8Array[]): boolean {
  if (cid.multihash.code !== SHA2_256) return false;
  const hash = createHash('sha256');
  for (const part of parts) hash.update(part);
  return Buffer.compare(hash.digest(), cid.multihash.digest) === 0;
}

/** One internal node from its children. */
export function encodeFileNode(children: readonly DagLink[]): { cid: CID; bytes: Uint8Array; link: DagLink } {
  const unixfs = new UnixFS({ type: 'file', blockSizes: children.map((child) => BigInt(child.fileSize)) });
  const bytes = dagPb.encode(dagPb.prepare({ Data: unixfs.marshal(), Links: children.map((child) => ({ Hash: child.cid, Name: '', Tsize: child.dagSize })) }));
  const cid = cidOfBytes(DAG_PB_CODE, bytes);
  const fileSize = children.reduce((sum, child) => sum + child.fileSize, 0);
  const dagSize = bytes.byteLength + children.reduce((sum, child) => sum + child.dagSize, 0);
  return { cid, bytes, link: { cid, fileSize, dagSize } };
}

export interface FileDagBuilderOptions {
  /** Called with each internal node as it is made, so a large file's nodes never pile up in memory. */
  onNode?: (cid: CID, bytes: Uint8Array) => void;
  /** Links per node; tests shrink it to build deep trees from little data. */
  maxLinks?: number;
}

/**
 * Builds the DAG leaf by leaf. Memory holds at most maxLinks links per level: a node is made as soon as a level
 * is full, which yields the same left-filled tree as kubo's depth-first balanced builder.
 */
export class FileDagBuilder {
  private readonly levels: DagLink[][] = [[]];
  private readonly maxLinks: number;
  private leaves = 0;

  constructor(private readonly options: FileDagBuilderOptions = {}) {
    this.maxLinks = options.maxLinks ?? MAX_LINKS;
  }

  get leafCount(): number {
    return this.leaves;
  }

  /** Adds the next leaf (the file's next chunk); returns its CID. */
  addLeaf(bytes: Uint8Array): CID {
    const cid = cidOfBytes(RAW_CODE, bytes);
    this.leaves++;
    this.push(0, { cid, fileSize: bytes.byteLength, dagSize: bytes.byteLength });
    return cid;
  }

  /** The root once every leaf is in: the leaf itself for a one-leaf (or empty) file. */
  finish(): DagLink {
    if (this.leaves === 0) this.addLeaf(new Uint8Array(0));
    // Wrap every partial level, bottom up, so that all leaves end at the same depth.
    for (let level = 0; level < this.levels.length - 1; level++) {
      const pending = this.levels[level]!;
      if (pending.length) this.push(level + 1, this.node(pending.splice(0)));
    }
    const top = this.levels[this.levels.length - 1]!;
    return top.length === 1 ? top[0]! : this.node(top.splice(0));
  }

  private push(level: number, link: DagLink): void {
    const links = (this.levels[level] ??= []);
    links.push(link);
    if (links.length === this.maxLinks) this.push(level + 1, this.node(links.splice(0)));
  }

  private node(children: DagLink[]): DagLink {
    const { cid, bytes, link } = encodeFileNode(children);
    this.options.onNode?.(cid, bytes);
    return link;
  }
}

/** What an internal node says about its children, checked against the bytes' own hash first. */
export interface DecodedFileNode {
  fileSize: number;
  children: Array<{ cid: CID; fileSize: number }>;
}

/** Decodes a verified dag-pb block as a UnixFS file node; anything else (a directory, raw data) is refused. */
export function decodeFileNode(cid: CID, bytes: Uint8Array): DecodedFileNode {
  if (cid.code !== DAG_PB_CODE) throw new UnsupportedContentError(`${cid} is not a dag-pb node`);
  let node: dagPb.PBNode;
  let unixfs: UnixFS;
  try {
    node = dagPb.decode(bytes);
    if (!node.Data) throw new Error('no UnixFS data');
    unixfs = UnixFS.unmarshal(node.Data);
  } catch (cause) {
    throw new BlockMismatchError(`${cid} is not a valid UnixFS node: ${(cause as Error).message}`, { cause });
  }
  if (unixfs.type !== 'file' && unixfs.type !== 'raw') throw new UnsupportedContentError(`${cid} is a UnixFS ${unixfs.type}, not a file: only files can be fetched`);
  if (unixfs.data?.byteLength) throw new UnsupportedContentError(`${cid} keeps data in an internal node: only raw-leaf files are supported`);
  if (unixfs.blockSizes.length !== node.Links.length) throw new BlockMismatchError(`${cid} lists ${unixfs.blockSizes.length} block sizes for ${node.Links.length} links`);
  const children = node.Links.map((link, index) => ({ cid: link.Hash, fileSize: Number(unixfs.blockSizes[index]!) }));
  return { fileSize: Number(unixfs.fileSize()), children };
}
