// Fetching a file by its content id from the peers that hold it: the DAG's internal nodes first (few, small),
// then its leaves from every holder at once, each leaf hashed against its CID before a byte of it is written.
// A holder that sends a bad block is banned for the rest of the fetch; one that vanishes just loses its share.
// Memory stays bounded whatever the file's size: the DAG is walked lazily (one node per level in memory),
// blocks in flight are limited per peer, and the record of verified leaves is a bit per leaf.
import { mkdir, open, rename, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { Libp2p, PeerId } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';
import type { CID } from 'multiformats/cid';
import type { Logger } from '../log/index.js';
import { DEFAULT_FETCH, MAX_BLOCK_BYTES, RAW_CODE } from './constants.js';
import { readFull, type ContentManifest, type ContentStore } from './content-store.js';
import { BlockMismatchError, ContentTooLargeError, NoProvidersError, UnsupportedContentError } from './errors.js';
import { loadFetchState, removeFetchState, saveFetchState, VerifiedLeaves } from './fetch-state.js';
import { blockMatches, decodeFileNode, type DecodedFileNode } from './file-dag.js';
import { PeerChannel, PeerGoneError } from './peer-channel.js';

export interface FetchProgress {
  cid: string;
  /** File bytes verified and written, those of an earlier attempt included. */
  bytes: number;
  totalBytes: number;
  /** Of those, bytes verified by an earlier attempt and not downloaded again. */
  reusedBytes: number;
  peers: number;
  bytesPerSecond: number;
}

export interface FetchPeerReport {
  peerId: string;
  bytes: number;
  blocks: number;
  status: 'ok' | 'gone' | 'banned';
  reason?: string;
}

export interface FetchContentResult {
  cid: string;
  size: number;
  path: string;
  /** Bytes downloaded in this attempt (leaves and internal nodes). */
  fetchedBytes: number;
  /** File bytes verified by an earlier attempt, not downloaded again. */
  reusedBytes: number;
  leaves: number;
  peers: FetchPeerReport[];
  banned: string[];
  ms: number;
  manifest: ContentManifest;
}

export interface FetchContentOptions {
  libp2p: Libp2p;
  store: ContentStore;
  cid: CID;
  out: string;
  logger: Logger;
  /** Holders to use besides (or, with findProviders false, instead of) those the DHT names. */
  peers?: Array<PeerId | Multiaddr>;
  /** Ask the DHT for holders (default true). */
  findProviders?: boolean;
  onProgress?: (progress: FetchProgress) => void;
  /** Called when a holder is banned for a bad block. */
  onBanned?: (peerId: string, reason: string) => void;
  windowPerPeer?: number;
  requestTimeoutMs?: number;
  checkpointIntervalMs?: number;
  providerRounds?: number;
  findProvidersTimeoutMs?: number;
  maxPeers?: number;
  /** At most one progress call per this many milliseconds (default 200; the last one always comes). */
  progressIntervalMs?: number;
  /**
   * Refuse a file larger than this before downloading its leaves: the root names the size and the leaves must add
   * up to it, so a peer cannot make the fetch run without end.
   */
  maxBytes?: number;
  /** Streams opened to each holder; the window is spread over them. */
  streamsPerPeer?: number;
  signal?: AbortSignal;
}

type FetchSettings = { -readonly [K in keyof typeof DEFAULT_FETCH]: number };

interface Leaf {
  index: number;
  offset: number;
  cid: CID;
  size: number;
}

const PROGRESS_INTERVAL_MS = 200;
/** The reason every channel is closed with when the fetch is done: not a failure of the peer. */
const FETCH_COMPLETE = new Error('fetch complete');

export async function fetchContent(options: FetchContentOptions): Promise<FetchContentResult> {
  const fetch = new ContentFetch(options);
  return fetch.run();
}

/** One fetch: its peers, its walk of the DAG, its partial file. */
class ContentFetch {
  private readonly settings: FetchSettings;
  private readonly log: Logger;
  private readonly root: CID;
  private readonly out: string;
  private readonly partPath: string;
  private channels: PeerChannel[] = [];
  private readonly reports = new Map<string, FetchPeerReport>();
  private readonly banned = new Set<string>();
  private readonly retry: Leaf[] = [];
  private verified = new VerifiedLeaves();
  private leaves?: AsyncGenerator<Leaf>;
  private walkDone = false;
  private totalBytes = 0;
  private doneBytes = 0;
  private reusedBytes = 0;
  private fetchedBytes = 0;
  private leafCount = 0;
  private file?: FileHandle;
  private lastProgressAt = 0;
  private readonly startedAt = performance.now();
  private failure?: Error;

  constructor(private readonly options: FetchContentOptions) {
    this.settings = {
      windowPerPeer: options.windowPerPeer ?? DEFAULT_FETCH.windowPerPeer,
      requestTimeoutMs: options.requestTimeoutMs ?? DEFAULT_FETCH.requestTimeoutMs,
      checkpointIntervalMs: options.checkpointIntervalMs ?? DEFAULT_FETCH.checkpointIntervalMs,
      providerRounds: options.providerRounds ?? DEFAULT_FETCH.providerRounds,
      findProvidersTimeoutMs: options.findProvidersTimeoutMs ?? DEFAULT_FETCH.findProvidersTimeoutMs,
      maxPeers: options.maxPeers ?? DEFAULT_FETCH.maxPeers,
      streamsPerPeer: options.streamsPerPeer ?? DEFAULT_FETCH.streamsPerPeer,
    };
    this.log = options.logger.child({ component: 'content', cid: options.cid.toString() });
    this.root = options.cid;
    this.out = resolve(options.out);
    this.partPath = `${this.out}.part`;
  }

  async run(): Promise<FetchContentResult> {
    const cid = this.root.toString();
    await mkdir(dirname(this.out), { recursive: true });
    let rounds = 0;
    await this.connectPeers();
    const { size, rootNode } = await this.resolveRoot();
    if (this.options.maxBytes !== undefined && size > this.options.maxBytes) throw new ContentTooLargeError(cid, size, this.options.maxBytes);
    this.totalBytes = size;
    const previous = await loadFetchState(this.partPath, cid);
    if (previous && previous.size === size && (await stat(this.partPath).catch(() => undefined))?.size === size) this.verified = previous.verified;
    this.file = await open(this.partPath, previous ? 'r+' : 'w+').catch(() => open(this.partPath, 'w+'));
    await this.file.truncate(size);
    this.leaves = this.walk(rootNode);
    const checkpoint = setInterval(() => void this.checkpoint().catch((error: unknown) => this.log.warn({ err: (error as Error).message }, 'checkpoint failed')), this.settings.checkpointIntervalMs);
    checkpoint.unref();
    try {
      for (;;) {
        this.options.signal?.throwIfAborted();
        const live = this.channels.filter((channel) => channel.isOpen);
        if (!live.length) {
          if (rounds++ >= this.settings.providerRounds) throw new NoProvidersError(`no holder of ${cid} is left to fetch from (${this.doneBytes} of ${size} bytes verified and kept for a later attempt)`);
          // Holders that just vanished may reappear in the DHT, or others may join: ask again after a pause.
          await new Promise((resolve) => setTimeout(resolve, 500 * rounds));
          await this.connectPeers();
          continue;
        }
        await Promise.all(live.map((channel) => this.drain(channel)));
        this.options.signal?.throwIfAborted();
        if (this.failure) throw this.failure;
        if (this.walkDone && this.retry.length === 0) break;
      }
      clearInterval(checkpoint);
      await this.file.sync();
      await this.file.close();
      this.file = undefined;
      await rename(this.partPath, this.out);
      await removeFetchState(this.partPath);
    } catch (error) {
      clearInterval(checkpoint);
      await this.checkpoint().catch(() => undefined);
      await this.file?.close().catch(() => undefined);
      this.closeChannels(error as Error);
      throw error;
    }
    this.progress(true);
    this.closeChannels(FETCH_COMPLETE);
    const manifest = await this.options.store.register({ cid, size, name: basename(this.out), path: this.out, leaves: this.leafCount });
    return {
      cid,
      size,
      path: this.out,
      fetchedBytes: this.fetchedBytes,
      reusedBytes: this.reusedBytes,
      leaves: this.leafCount,
      peers: [...this.reports.values()].map((report) => this.finalReport(report)),
      banned: [...this.banned],
      ms: performance.now() - this.startedAt,
      manifest,
    };
  }

  /** The file's size and, unless it is a single raw leaf, its root node. */
  private async resolveRoot(): Promise<{ size: number; rootNode: DecodedFileNode }> {
    if (this.root.code === RAW_CODE) {
      // A one-leaf file: the root is the leaf. Its size comes from the holders (the hash checks it later).
      const size = this.sizeHint ?? 0;
      if (size > MAX_BLOCK_BYTES) throw new UnsupportedContentError(`${this.root} is a raw block of ${size} bytes, over ${MAX_BLOCK_BYTES}`);
      return { size, rootNode: { fileSize: size, children: [{ cid: this.root, fileSize: size }] } };
    }
    const rootNode = await this.node(this.root);
    return { size: rootNode.fileSize, rootNode };
  }

  /** Leaves in file order; internal nodes from the local store, else from a holder (verified, then stored). */
  private async *walk(rootNode: DecodedFileNode): AsyncGenerator<Leaf> {
    let index = 0;
    let offset = 0;
    const visit = async function* (this: ContentFetch, node: DecodedFileNode): AsyncGenerator<Leaf> {
      for (const child of node.children) {
        if (child.cid.code === RAW_CODE) {
          if (child.fileSize > MAX_BLOCK_BYTES) throw new UnsupportedContentError(`leaf ${child.cid} is ${child.fileSize} bytes, over ${MAX_BLOCK_BYTES}`);
          yield { index: index++, offset, cid: child.cid, size: child.fileSize };
          offset += child.fileSize;
          continue;
        }
        const inner = await this.node(child.cid);
        if (inner.fileSize !== child.fileSize) throw new UnsupportedContentError(`node ${child.cid} holds ${inner.fileSize} bytes where its parent says ${child.fileSize}`);
        yield* visit.call(this, inner);
      }
    };
    yield* visit.call(this, rootNode);
    this.leafCount = index;
    if (offset !== this.totalBytes) throw new UnsupportedContentError(`the leaves of ${this.root} add up to ${offset} bytes, not ${this.totalBytes}`);
  }

  private async node(cid: CID): Promise<DecodedFileNode> {
    const stored = await this.options.store.getBlock(cid);
    if (stored) return decodeFileNode(cid, stored);
    for (const channel of this.channels) {
      if (!channel.isOpen) continue;
      let bytes: Uint8Array | undefined;
      try {
        bytes = await channel.want({ root: this.root, cid });
      } catch (error) {
        this.note(channel, error as Error);
        continue;
      }
      if (!bytes) continue;
      if (!blockMatches(cid, bytes)) {
        this.ban(channel, `sent a block that does not hash to ${cid}`);
        continue;
      }
      this.fetchedBytes += bytes.byteLength;
      await this.options.store.putBlocks([[cid, bytes]]);
      return decodeFileNode(cid, bytes);
    }
    throw new NoProvidersError(`no connected holder sent node ${cid} of ${this.root}`);
  }

  /** The next leaf to download: one given back by a failed request first, else the walk's next unverified leaf. */
  private async nextLeaf(): Promise<Leaf | undefined> {
    const retried = this.retry.shift();
    if (retried) return retried;
    if (this.walkDone || !this.leaves) return undefined;
    for (;;) {
      const next = await this.leaves.next();
      if (next.done) {
        this.walkDone = true;
        return undefined;
      }
      const leaf = next.value;
      if (!this.verified.has(leaf.index)) return leaf;
      // The saved bits say only what an earlier attempt wrote; the disk may have changed since (a fault, another
      // process). A leaf is reused only if its bytes on disk still hash to its CID, else it is fetched again.
      if (!(await this.leafOnDiskMatches(leaf))) {
        this.verified.unmark(leaf.index);
        this.log.warn({ leaf: leaf.index }, 'a leaf marked verified by an earlier attempt no longer matches its CID; fetching it again');
        return leaf;
      }
      this.reusedBytes += leaf.size;
      this.doneBytes += leaf.size;
      this.progress();
    }
  }

  private async leafOnDiskMatches(leaf: Leaf): Promise<boolean> {
    const bytes = Buffer.allocUnsafe(leaf.size);
    const read = await readFull(this.file!, bytes, leaf.offset);
    return read === leaf.size && blockMatches(leaf.cid, bytes);
  }

  /** Keeps windowPerPeer requests outstanding on one channel until no leaf is left or the channel fails. */
  private async drain(channel: PeerChannel): Promise<void> {
    const lane = async (): Promise<void> => {
      while (channel.isOpen && !this.banned.has(channel.peerId) && !this.failure && !this.options.signal?.aborted) {
        let leaf: Leaf | undefined;
        try {
          leaf = await this.nextLeaf();
        } catch (error) {
          this.failure ??= error as Error;
          return;
        }
        if (!leaf) return;
        if (!(await this.fetchLeaf(channel, leaf))) this.retry.push(leaf);
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.ceil(this.settings.windowPerPeer / this.settings.streamsPerPeer)) }, lane));
  }

  /** Downloads, verifies and writes one leaf; false when it must be fetched elsewhere. */
  private async fetchLeaf(channel: PeerChannel, leaf: Leaf): Promise<boolean> {
    let bytes: Uint8Array | undefined;
    try {
      bytes = await channel.want({ root: this.root, cid: leaf.cid, offset: leaf.offset, length: leaf.size });
    } catch (error) {
      this.note(channel, error as Error);
      return false;
    }
    if (!bytes) {
      channel.close(new PeerGoneError(`${channel.peerId} no longer has leaf ${leaf.index} of ${this.root}`));
      this.note(channel, new PeerGoneError('dont-have'));
      return false;
    }
    this.fetchedBytes += bytes.byteLength;
    if (bytes.byteLength !== leaf.size || !blockMatches(leaf.cid, bytes)) {
      this.ban(channel, `sent leaf ${leaf.index} (${bytes.byteLength} bytes) that does not hash to ${leaf.cid}`);
      return false;
    }
    await this.file!.write(bytes, 0, bytes.byteLength, leaf.offset);
    this.verified.mark(leaf.index);
    this.doneBytes += leaf.size;
    this.progress();
    return true;
  }

  private ban(channel: PeerChannel, reason: string): void {
    this.banned.add(channel.peerId);
    for (const sibling of this.channels) if (sibling.peerId === channel.peerId && sibling !== channel) sibling.close(new BlockMismatchError(`${channel.peerId} is banned`));
    this.report(channel).status = 'banned';
    this.report(channel).reason = reason;
    this.log.warn({ peer: channel.peerId, reason }, 'holder banned for a bad block');
    channel.close(new BlockMismatchError(`${channel.peerId} ${reason}`));
    this.options.onBanned?.(channel.peerId, reason);
  }

  private note(channel: PeerChannel, error: Error): void {
    const report = this.report(channel);
    if (report.status === 'ok') {
      report.status = 'gone';
      report.reason = error.message;
      this.log.info({ peer: channel.peerId, reason: error.message }, 'holder dropped; its blocks go to the others');
    }
  }

  private report(channel: PeerChannel): FetchPeerReport {
    let report = this.reports.get(channel.peerId);
    if (!report) this.reports.set(channel.peerId, (report = { peerId: channel.peerId, bytes: 0, blocks: 0, status: 'ok' }));
    return report;
  }

  private finalReport(report: FetchPeerReport): FetchPeerReport {
    const channels = this.allChannels.filter((channel) => channel.peerId === report.peerId);
    // A stream that failed while no request was waiting on it was never noted: it counts as gone too.
    const lost = report.status === 'ok' ? channels.find((channel) => channel.error && channel.error !== FETCH_COMPLETE)?.error : undefined;
    return { ...report, ...(lost ? { status: 'gone', reason: lost.message } : {}), bytes: channels.reduce((sum, c) => sum + c.bytes, 0), blocks: channels.reduce((sum, c) => sum + c.blocks, 0) };
  }

  private readonly allChannels: PeerChannel[] = [];
  private sizeHint?: number;

  /** Opens channels to holders (explicit ones, then the DHT's), keeping those that say they have the root. */
  private async connectPeers(): Promise<void> {
    const { libp2p } = this.options;
    const targets: Array<PeerId | Multiaddr> = [...(this.options.peers ?? [])];
    if (this.options.findProviders !== false) {
      try {
        for await (const provider of libp2p.contentRouting.findProviders(this.root, { signal: AbortSignal.timeout(this.settings.findProvidersTimeoutMs) })) {
          if (provider.id.equals(libp2p.peerId)) continue;
          if (provider.multiaddrs.length) await libp2p.peerStore.merge(provider.id, { multiaddrs: provider.multiaddrs }).catch(() => undefined);
          targets.push(provider.id);
          if (targets.length >= this.settings.maxPeers * 2) break;
        }
      } catch (error) {
        this.log.info({ err: (error as Error).message }, 'DHT lookup for holders ended');
      }
    }
    const connected = new Set(this.channels.filter((channel) => channel.isOpen).map((channel) => channel.peerId));
    await Promise.all(
      targets.map(async (target) => {
        let channel: PeerChannel;
        try {
          channel = await PeerChannel.open(libp2p, target, this.settings.requestTimeoutMs, this.options.signal);
        } catch (error) {
          this.log.debug({ target: target.toString(), err: (error as Error).message }, 'holder unreachable');
          return;
        }
        if (this.banned.has(channel.peerId) || connected.has(channel.peerId) || connected.size >= this.settings.maxPeers) return channel.close(new Error('not needed'));
        connected.add(channel.peerId);
        try {
          const size = await channel.have(this.root);
          if (size === undefined) return channel.close(new Error('does not hold the content'));
          this.sizeHint ??= size;
          // More streams to the same holder: each yamux stream has its own flow-control window, and one
          // window (256 KiB to start) would hold the transfer to a block per round trip.
          const extra = await Promise.all(
            Array.from({ length: this.settings.streamsPerPeer - 1 }, () => PeerChannel.open(libp2p, target, this.settings.requestTimeoutMs, this.options.signal).catch(() => undefined)),
          );
          for (const opened of [channel, ...extra]) {
            if (!opened) continue;
            this.channels.push(opened);
            this.allChannels.push(opened);
          }
          this.report(channel);
        } catch (error) {
          connected.delete(channel.peerId);
          channel.close(error as Error);
        }
      }),
    );
    this.channels = this.channels.filter((channel) => channel.isOpen);
    this.log.info({ holders: this.channels.map((channel) => channel.peerId) }, 'holders connected');
    if (!this.channels.length && this.options.findProviders === false && !this.options.peers?.length) throw new NoProvidersError(`no holders of ${this.root} were given`);
  }

  private async checkpoint(): Promise<void> {
    const file = this.file;
    if (!file) return;
    const bits = this.verified.snapshot();
    await file.datasync();
    await saveFetchState(this.partPath, this.root.toString(), this.totalBytes, bits);
  }

  private progress(force = false): void {
    const now = performance.now();
    if (!force && now - this.lastProgressAt < (this.options.progressIntervalMs ?? PROGRESS_INTERVAL_MS)) return;
    this.lastProgressAt = now;
    const seconds = (now - this.startedAt) / 1000;
    this.options.onProgress?.({
      cid: this.root.toString(),
      bytes: this.doneBytes,
      totalBytes: this.totalBytes,
      reusedBytes: this.reusedBytes,
      peers: this.channels.filter((channel) => channel.isOpen).length,
      bytesPerSecond: seconds > 0 ? (this.doneBytes - this.reusedBytes) / seconds : 0,
    });
  }

  private closeChannels(reason: Error): void {
    for (const channel of this.channels) channel.close(reason);
  }
}
