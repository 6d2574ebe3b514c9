// Content addressing's fixed parameters, named once: they decide every content id, so changing one changes
// every id. They are kubo's defaults for `ipfs add --cid-version 1 --raw-leaves` (size-262144 chunker,
// balanced layout), so our ids are the ids the IPFS ecosystem computes for the same bytes.

/** Bytes per leaf: kubo's default fixed-size chunker, `size-262144`. */
export const CHUNK_SIZE = 262_144;
/** Links per internal node in kubo's balanced layout (helpers.DefaultLinksPerBlock). */
export const MAX_LINKS = 174;

/** Multicodec of a raw leaf block. */
export const RAW_CODE = 0x55;
/** Multicodec of a dag-pb (UnixFS) node. */
export const DAG_PB_CODE = 0x70;

/** Our own want/have/block exchange over libp2p: not bitswap, but blocks of the same DAG. */
export const CONTENT_PROTOCOL = '/infernet/content/1.0.0';

/** The largest block we accept or serve: a leaf of another chunker may be up to 1 MiB (bitswap's limit too). */
export const MAX_BLOCK_BYTES = 1_048_576;
/** A frame's JSON header: ids and a reason, never data. */
export const MAX_HEADER_BYTES = 4_096;
/** Bytes a reader buffers before it pauses the stream (backpressure instead of unbounded memory). */
export const READ_BUFFER_BYTES = 4 * MAX_BLOCK_BYTES;

/** Defaults of a fetch; tests and the CLI may override some. */
export const DEFAULT_FETCH = {
  /** The most requests outstanding per peer (its window grows to this with its rate): 16 x 256 KiB in flight. */
  windowPerPeer: 16,
  /** A peer that does not answer a request in this long is dropped (not banned) and its blocks go elsewhere. */
  requestTimeoutMs: 30_000,
  /** How often the record of verified chunks is made durable (data fsync'd first). */
  checkpointIntervalMs: 500,
  /** How many times a fetch asks the DHT again for holders when every known one has gone. */
  providerRounds: 3,
  /** How long one DHT lookup for holders may take. */
  findProvidersTimeoutMs: 10_000,
  /** Streams per holder, each with its own flow-control window; windowPerPeer requests are spread over them. */
  streamsPerPeer: 4,
  /** At most this many holders are used at once. */
  maxPeers: 16,
} as const;

/** Requests a holder gets before the rate it delivers is known (then its window follows that rate). */
export const INITIAL_WINDOW = 4;
/** The fewest requests a holder keeps outstanding, so its link does not idle between an answer and the next want. */
export const MIN_WINDOW = 2;
/**
 * A holder's window holds this long of its delivered rate (capped at windowPerPeer): a fast link gets many blocks in
 * flight, a slow one few, so a slow holder does not sit on blocks that others would deliver sooner.
 */
export const QUEUE_TARGET_MS = 250;
/**
 * A want asks for up to this many bytes of consecutive leaves (two of 256 KiB): half the reads, frames and writes
 * of one want per leaf, while a full window (16 leaves over 4 streams) still keeps two wants queued on each stream,
 * so a holder always has the next one when it finishes a want. Each leaf in it is still hashed against its own CID;
 * holders serve it as they serve one leaf (any range up to MAX_BLOCK_BYTES).
 */
export const WANT_MAX_BYTES = 2 * CHUNK_SIZE;
/** In the end game a leaf is asked of at most this many holders at once. */
export const END_GAME_COPIES = 2;

/** How often a daemon looks for content added by `infernet content add` while it runs, to provide it. */
export const PROVIDE_SCAN_INTERVAL_MS = 5_000;
export const PROVIDE_TIMEOUT_MS = 60_000;
