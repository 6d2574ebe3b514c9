// Fetching a file by its content id from the peers that hold it: the DAG's internal nodes first (few, small),
// then its leaves from every holder at once, each leaf hashed against its CID before a byte of it is written.
// A holder that sends a bad block is banned for the rest of the fetch; one that vanishes just loses its share.
// Each holder keeps a window of leaves in flight sized to the rate it delivers (fetch-schedule.ts), consecutive
// leaves going out as one want, so work flows to holders in proportion to their speed; at the end an idle holder
// duplicates what a slower one would deliver last. Memory stays bounded whatever the file's size: the DAG is walked
// lazily (one node per level in memory), leaves in flight are limited per peer, and the record of verified leaves
// is a bit per leaf.
import { mkdir, open, rename, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import type { Libp2p, PeerId } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';
import type { CID } from 'multiformats/cid';
import type { Logger } from '../log/index.js';
import { CHUNK_SIZE, DEFAULT_FETCH, END_GAME_COPIES, INITIAL_WINDOW, MAX_BLOCK_BYTES, MIN_WINDOW, QUEUE_TARGET_MS, RAW_CODE, WANT_MAX_BYTES } from './constants.js';
import { readFull, type ContentManifest, type ContentStore } from './content-store.js';
import { BlockMismatchError, ContentTooLargeError, NoProvidersError, UnsupportedContentError } from './errors.js';
import { loadFetchState, removeFetchState, saveFetchState, VerifiedLeaves } from './fetch-state.js';
import { chooseDuplicate, RateMeter, windowFor, type OutstandingRequest, type WindowSettings } from './fetch-schedule.js';
import { blockMatches, decodeFileNode, partsMatch, type DecodedFileNode } from './file-dag.js';
import { splitParts } from './exchange-frames.js';
import { PeerChannel, PeerGoneError, type BlockBytes } from './peer-channel.js';

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

/** A holder as the scheduler sees it: the leaves asked of it (in request order) and the rate it delivers. */
interface Holder {
  peerId: string;
  meter: RateMeter;
  /** Leaves requested and not yet answered and written, in request order: what its window counts. */
  requests: Set<number>;
  pumping: boolean;
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
  private readonly holders = new Map<string, Holder>();
  /** Leaves requested and not yet verified, with the holders asked for each (two in the end game). */
  private readonly inFlight = new Map<number, { leaf: Leaf; holders: Set<string> }>();
  /** Leaves verified and being written: a second copy of one is dropped. */
  private readonly writing = new Set<number>();
  private settle?: () => void;
  private readonly windowSettings: WindowSettings;
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
    this.windowSettings = { blockBytes: CHUNK_SIZE, maxWindow: this.settings.windowPerPeer, initialWindow: INITIAL_WINDOW, minWindow: MIN_WINDOW, queueTargetMs: QUEUE_TARGET_MS };
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
        await this.transfer();
        this.options.signal?.throwIfAborted();
        if (this.failure) throw this.failure;
        if (this.finished) break;
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
      let block: BlockBytes | undefined;
      try {
        block = await channel.want({ root: this.root, cid });
      } catch (error) {
        this.note(channel, error as Error);
        continue;
      }
      if (!block) continue;
      const bytes = Buffer.concat(block.parts as Uint8Array[], block.bytes);
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

  private get finished(): boolean {
    return this.walkDone && !this.retry.length && !this.inFlight.size && !this.writing.size;
  }

  /**
   * Moves leaves until the file is complete, the fetch fails, or no holder is left. Event-driven: every answer,
   * failure or new leaf refills the windows, and the promise settles once one of those ends is reached.
   */
  private transfer(): Promise<void> {
    const { signal } = this.options;
    return new Promise<void>((resolve) => {
      const onAbort = (): void => this.checkSettled();
      signal?.addEventListener('abort', onAbort, { once: true });
      this.settle = () => {
        signal?.removeEventListener('abort', onAbort);
        this.settle = undefined;
        resolve();
      };
      for (const channel of this.channels) if (channel.isOpen) this.holderOf(channel.peerId);
      this.pumpAll();
      this.checkSettled();
    });
  }

  private checkSettled(): void {
    if (!this.settle) return;
    const holders = [...this.holders.values()];
    const idle = !this.inFlight.size && !this.writing.size && !holders.some((holder) => holder.pumping);
    const noHolder = idle && !holders.some((holder) => this.usable(holder));
    if (this.failure || this.options.signal?.aborted || this.finished || noHolder) this.settle();
  }

  private holderOf(peerId: string): Holder {
    let holder = this.holders.get(peerId);
    if (!holder) this.holders.set(peerId, (holder = { peerId, meter: new RateMeter(), requests: new Set(), pumping: false }));
    return holder;
  }

  private usable(holder: Holder): boolean {
    return !this.banned.has(holder.peerId) && this.channels.some((channel) => channel.peerId === holder.peerId && channel.isOpen);
  }

  private pumpAll(): void {
    for (const holder of this.holders.values()) if (this.usable(holder)) void this.pump(holder);
  }

  /**
   * Fills one holder's window: leaves given back first, then the walk's next, then (at the end) a duplicate.
   * Consecutive leaves go out as one want of up to WANT_MAX_BYTES (a holder reads and sends them in one go, and each
   * is still hashed against its own CID); the window counts leaves, so memory stays window x leaf size per holder.
   */
  private async pump(holder: Holder): Promise<void> {
    if (holder.pumping) return;
    holder.pumping = true;
    let gaveBack = false;
    try {
      // At most one window's worth per call: the loop ends even if requests complete as fast as they are made.
      for (let issued = 0; issued < this.settings.windowPerPeer; issued++) {
        if (!this.usable(holder) || this.failure || this.options.signal?.aborted) break;
        const window = windowFor(holder.meter.rate(performance.now()), this.windowSettings);
        if (holder.requests.size >= window) break;
        const fresh = await this.nextLeaf();
        const first = fresh ?? this.duplicateFor(holder);
        if (!first) break;
        const run = [first];
        let bytes = first.size;
        // A duplicate goes alone; fresh leaves are joined while they follow on and fit the want and the window.
        for (let joined = 1; fresh && joined < this.settings.windowPerPeer && holder.requests.size + run.length < window; joined++) {
          const next = await this.nextLeaf();
          if (!next) break;
          const last = run[run.length - 1]!;
          if (next.index !== last.index + 1 || next.offset !== last.offset + last.size || bytes + next.size > WANT_MAX_BYTES) {
            this.retry.unshift(next);
            break;
          }
          run.push(next);
          bytes += next.size;
        }
        if (!this.usable(holder) || run.some((leaf) => this.verified.has(leaf.index))) {
          for (const leaf of run) this.giveBack(leaf);
          gaveBack = true;
          break;
        }
        this.request(holder, run);
      }
    } catch (error) {
      this.failure ??= error as Error;
    } finally {
      holder.pumping = false;
      // Leaves this holder could not take go to the others, which may be idle with nothing to wake them.
      if (gaveBack) this.pumpAll();
      this.checkSettled();
    }
  }

  /** A leaf taken for a holder that can no longer ask for it: back to the queue unless another holder has it. */
  private giveBack(leaf: Leaf): void {
    if (this.verified.has(leaf.index) || this.writing.has(leaf.index) || this.inFlight.has(leaf.index)) return;
    this.retry.push(leaf);
  }

  /** The end game's pick for an idle holder: an outstanding leaf the slowest holder would deliver last. */
  private duplicateFor(holder: Holder): Leaf | undefined {
    if (!this.walkDone || this.retry.length || !this.inFlight.size) return undefined;
    const now = performance.now();
    const outstanding: OutstandingRequest[] = [];
    const rates = new Map<string, number | undefined>();
    for (const other of this.holders.values()) {
      rates.set(other.peerId, other.meter.rate(now));
      let position = 0;
      for (const index of other.requests) {
        position++;
        const entry = this.inFlight.get(index);
        if (entry) outstanding.push({ leaf: index, holder: other.peerId, queuePosition: position, copies: entry.holders.size });
      }
    }
    const index = chooseDuplicate(outstanding, { holder: holder.peerId, holderInFlight: holder.requests.size, rates, blockBytes: this.windowSettings.blockBytes, maxCopies: END_GAME_COPIES });
    return index === undefined ? undefined : this.inFlight.get(index)?.leaf;
  }

  /** Sends a want for a run of consecutive leaves on the holder's least busy stream; the answer is handled when it comes. */
  private request(holder: Holder, run: Leaf[]): void {
    const open = this.channels.filter((channel) => channel.peerId === holder.peerId && channel.isOpen);
    const channel = open.reduce((best, candidate) => (candidate.outstanding < best.outstanding ? candidate : best));
    holder.meter.start(performance.now());
    for (const leaf of run) {
      holder.requests.add(leaf.index);
      const entry = this.inFlight.get(leaf.index) ?? { leaf, holders: new Set<string>() };
      entry.holders.add(holder.peerId);
      this.inFlight.set(leaf.index, entry);
    }
    const first = run[0]!;
    const length = run.reduce((sum, leaf) => sum + leaf.size, 0);
    channel
      .want({ root: this.root, cid: first.cid, offset: first.offset, length })
      .then(
        (block) => this.onAnswer(holder, channel, run, block),
        (error: unknown) => {
          this.note(channel, error as Error);
          this.release(holder, run, false);
        },
      )
      .catch((error: unknown) => {
        this.failure ??= error as Error;
        this.checkSettled();
      });
  }

  /**
   * Verifies each leaf of an answer against its own CID (every copy, a late duplicate too: a lie is a lie), and
   * writes in place those that no copy has written yet.
   */
  private async onAnswer(holder: Holder, channel: PeerChannel, run: Leaf[], block: BlockBytes | undefined): Promise<void> {
    const first = run[0]!;
    const length = run.reduce((sum, leaf) => sum + leaf.size, 0);
    if (!block) {
      channel.close(new PeerGoneError(`${channel.peerId} no longer has leaf ${first.index} of ${this.root}`));
      this.note(channel, new PeerGoneError('dont-have'));
      return this.release(holder, run, false);
    }
    this.fetchedBytes += block.bytes;
    const pieces = block.bytes === length ? splitParts(block.parts, run.map((leaf) => leaf.size)) : undefined;
    const bad = pieces ? run.findIndex((leaf, index) => !partsMatch(leaf.cid, pieces[index]!)) : 0;
    if (!pieces || bad >= 0) {
      const leaf = run[bad]!;
      this.ban(channel, pieces ? `sent leaf ${leaf.index} that does not hash to ${leaf.cid}` : `sent ${block.bytes} bytes for leaves ${first.index}..${first.index + run.length - 1} (${length} bytes)`);
      return this.release(holder, run, false);
    }
    holder.meter.record(performance.now(), block.bytes);
    const toWrite = run.filter((leaf) => !this.verified.has(leaf.index) && !this.writing.has(leaf.index));
    for (const leaf of toWrite) {
      this.writing.add(leaf.index);
      this.inFlight.delete(leaf.index);
    }
    try {
      // The whole run in one positional write when no copy of any of its leaves was written; else leaf by leaf.
      if (toWrite.length === run.length) await this.writeAt(block.parts, first.offset, length);
      else for (const leaf of toWrite) await this.writeAt(pieces[run.indexOf(leaf)]!, leaf.offset, leaf.size);
    } finally {
      for (const leaf of toWrite) this.writing.delete(leaf.index);
    }
    for (const leaf of toWrite) {
      this.verified.mark(leaf.index);
      this.doneBytes += leaf.size;
    }
    this.progress();
    this.release(holder, run, true);
  }

  /** Positional writes of the pieces as they arrived: no joined copy, and leaves land wherever they belong. */
  private async writeAt(parts: readonly Uint8Array[], offset: number, size: number): Promise<void> {
    const { bytesWritten } = await this.file!.writev(parts as Uint8Array[], offset);
    if (bytesWritten === size) return;
    // A short write (rare for a regular file): the rest, joined, until it is all on disk.
    const rest = Buffer.concat(parts as Uint8Array[], size).subarray(bytesWritten);
    for (let written = 0, rounds = 0; written < rest.byteLength; rounds++) {
      if (rounds > 64) throw new Error(`writing ${size} bytes at ${offset} of ${this.partPath} made no progress`);
      written += (await this.file!.write(rest, written, rest.byteLength - written, offset + bytesWritten + written)).bytesWritten;
    }
  }

  /** A request is over: its window slots are free; a leaf nobody else is fetching goes back to the queue. */
  private release(holder: Holder, run: readonly Leaf[], delivered: boolean): void {
    for (const leaf of run) {
      holder.requests.delete(leaf.index);
      const entry = this.inFlight.get(leaf.index);
      if (delivered || !entry) continue;
      entry.holders.delete(holder.peerId);
      if (!entry.holders.size) {
        this.inFlight.delete(leaf.index);
        this.giveBack(leaf);
      }
    }
    this.pumpAll();
    this.checkSettled();
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
      peers: new Set(this.channels.filter((channel) => channel.isOpen).map((channel) => channel.peerId)).size,
      bytesPerSecond: seconds > 0 ? (this.doneBytes - this.reusedBytes) / seconds : 0,
    });
  }

  private closeChannels(reason: Error): void {
    for (const channel of this.channels) channel.close(reason);
  }
}
