// The frames of /infernet/content/1.0.0. Each frame: u32 total length, u16 header length, a JSON header,
// then the body (a block's bytes, or nothing). Headers are parsed with zod at the edge; bodies are bytes
// that the fetcher hashes before it believes them.
//
//   have  {root}                        -> has {root, size} | dont-have {root}
//   want  {id, root, cid[, offset, length]} -> block {id, cid} + bytes | dont-have {id, cid, reason}
// A want with offset and length asks for those bytes of the root's file: a leaf, or a run of consecutive leaves
// (up to MAX_BLOCK_BYTES, cid naming the first), each hashed by the fetcher against its own CID; without, for an
// internal node by its CID. Requests may be pipelined; answers come back in request order.
import type { Stream } from '@libp2p/interface';
import { z } from 'zod';
import { ContentId } from '../protocol/content-id.js';
import { MAX_BLOCK_BYTES, MAX_HEADER_BYTES, READ_BUFFER_BYTES } from './constants.js';
import { ContentProtocolError } from './errors.js';

// Parsed as a CID here, at the edge: the serving side joins a root into the path of its manifest.
const CidText = ContentId;

export const ExchangeHeader = z.discriminatedUnion('type', [
  z.object({ type: z.literal('have'), root: CidText }).strict(),
  z.object({ type: z.literal('has'), root: CidText, size: z.number().int().nonnegative() }).strict(),
  z
    .object({
      type: z.literal('want'),
      id: z.number().int().nonnegative(),
      root: CidText,
      cid: CidText,
      offset: z.number().int().nonnegative().optional(),
      length: z.number().int().nonnegative().max(MAX_BLOCK_BYTES).optional(),
    })
    .strict(),
  z.object({ type: z.literal('block'), id: z.number().int().nonnegative(), cid: CidText }).strict(),
  z.object({ type: z.literal('dont-have'), id: z.number().int().nonnegative().optional(), root: CidText.optional(), cid: CidText.optional(), reason: z.string().max(512).optional() }).strict(),
]);
export type ExchangeHeader = z.infer<typeof ExchangeHeader>;

/**
 * One frame as read: its header, and its body as the pieces it arrived in (views of the stream's buffers, never
 * copied), so that a 256 KiB block is hashed and written piece by piece. `body` joins them, for small bodies.
 */
export interface ExchangeFrame {
  header: ExchangeHeader;
  parts: readonly Uint8Array[];
  bodyBytes: number;
  readonly body: Uint8Array;
}

/** A frame as read. A class, so that `body` is one accessor on the prototype, not a closure made per frame. */
class ReceivedFrame implements ExchangeFrame {
  private joined?: Uint8Array;
  constructor(
    readonly header: ExchangeHeader,
    readonly parts: readonly Uint8Array[],
    readonly bodyBytes: number,
  ) {}

  get body(): Uint8Array {
    this.joined ??= this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts as Uint8Array[], this.bodyBytes);
    return this.joined;
  }
}

/** Cuts a body that arrived in pieces into consecutive blocks of the given sizes: views, never copies. */
export function splitParts(parts: readonly Uint8Array[], sizes: readonly number[]): Uint8Array[][] {
  const blocks: Uint8Array[][] = [];
  let part = 0;
  let at = 0;
  for (const size of sizes) {
    const block: Uint8Array[] = [];
    for (let need = size; need > 0; ) {
      const current = parts[part];
      if (!current) throw new RangeError(`the body is shorter than the ${sizes.reduce((sum, value) => sum + value, 0)} bytes its blocks add up to`);
      const take = Math.min(need, current.byteLength - at);
      block.push(current.subarray(at, at + take));
      need -= take;
      at += take;
      if (at === current.byteLength) {
        part++;
        at = 0;
      }
    }
    blocks.push(block);
  }
  return blocks;
}

const PREFIX_BYTES = 6;
const MAX_FRAME_BYTES = PREFIX_BYTES + MAX_HEADER_BYTES + MAX_BLOCK_BYTES;

/** The length prefix and header of a frame whose body follows: sent apart from it, so a block is never copied. */
export function encodeFrameHead(header: ExchangeHeader, bodyBytes: number): Uint8Array {
  const json = Buffer.from(JSON.stringify(header));
  if (json.byteLength > MAX_HEADER_BYTES) throw new ContentProtocolError(`a ${header.type} header of ${json.byteLength} bytes is over ${MAX_HEADER_BYTES}`);
  const head = Buffer.allocUnsafe(PREFIX_BYTES + json.byteLength);
  head.writeUInt32BE(head.byteLength - 4 + bodyBytes, 0);
  head.writeUInt16BE(json.byteLength, 4);
  json.copy(head, PREFIX_BYTES);
  return head;
}

/**
 * Sends one frame, waiting for the stream to drain first when its buffer is full. The head and the body go as two
 * sends into the same stream buffer: the same bytes on the wire as one, without copying a block into a new frame.
 */
export async function sendFrame(stream: Stream, header: ExchangeHeader, body?: Uint8Array, signal?: AbortSignal): Promise<void> {
  if (stream.writableNeedsDrain) await stream.onDrain({ signal });
  stream.send(encodeFrameHead(header, body?.byteLength ?? 0));
  if (body?.byteLength) stream.send(body);
}

/**
 * Reads frames from a stream as an async iterator. Buffers at most READ_BUFFER_BYTES before pausing the
 * stream, so a fast sender cannot grow our memory; a frame over the size limit ends the stream with an error.
 */
export class FrameReader implements AsyncIterable<ExchangeFrame> {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private ended = false;
  private failure?: Error;
  private wake?: () => void;

  constructor(private readonly stream: Stream) {
    stream.addEventListener('message', (event) => {
      const data = event.data;
      // A list is walked piece by piece: its subarray() would copy every piece into one new buffer.
      for (const bytes of data instanceof Uint8Array ? [data] : data) {
        this.chunks.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
        this.buffered += bytes.byteLength;
      }
      if (this.buffered > READ_BUFFER_BYTES) stream.pause();
      this.notify();
    });
    stream.addEventListener('remoteCloseWrite', () => this.end());
    stream.addEventListener('close', (event) => this.end(event.error));
  }

  async *[Symbol.asyncIterator](): AsyncIterator<ExchangeFrame> {
    for (;;) {
      const frame = this.take();
      if (frame) {
        yield frame;
        continue;
      }
      if (this.failure) throw this.failure;
      if (this.ended) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private end(error?: Error): void {
    this.ended = true;
    if (error && !this.failure) this.failure = error;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** The next whole frame from the buffer, if one has arrived. */
  private take(): ExchangeFrame | undefined {
    if (this.buffered < PREFIX_BYTES) return undefined;
    const head = this.copyOut(PREFIX_BYTES, false);
    const length = head.readUInt32BE(0);
    const headerLength = head.readUInt16BE(4);
    if (length + 4 > MAX_FRAME_BYTES || headerLength > MAX_HEADER_BYTES || headerLength + 2 > length) {
      this.failure = new ContentProtocolError(`a frame of ${length} bytes (header ${headerLength}) is over the limit`);
      this.stream.abort(this.failure);
      return undefined;
    }
    if (this.buffered < length + 4) return undefined;
    this.skip(PREFIX_BYTES);
    const headerBytes = this.copyOut(headerLength, true);
    const bodyBytes = length + 4 - PREFIX_BYTES - headerLength;
    const parts = this.takeParts(bodyBytes);
    if (this.buffered <= READ_BUFFER_BYTES / 2) this.stream.resume();
    let header: ExchangeHeader;
    try {
      header = ExchangeHeader.parse(JSON.parse(headerBytes.toString('utf8')));
    } catch (cause) {
      this.failure = new ContentProtocolError(`an unparsable frame header: ${(cause as Error).message}`, { cause });
      this.stream.abort(this.failure);
      return undefined;
    }
    return new ReceivedFrame(header, parts, bodyBytes);
  }

  /** The first `bytes` buffered bytes as one buffer (a prefix or a header: small), consumed when `consume`. */
  private copyOut(bytes: number, consume: boolean): Buffer {
    const first = this.chunks[0];
    if (first && first.byteLength >= bytes) {
      if (consume) this.skip(bytes);
      return first.subarray(0, bytes);
    }
    const out = Buffer.allocUnsafe(bytes);
    let filled = 0;
    for (let index = 0; filled < bytes; index++) {
      const chunk = this.chunks[index]!;
      const take = Math.min(chunk.byteLength, bytes - filled);
      chunk.copy(out, filled, 0, take);
      filled += take;
    }
    if (consume) this.skip(bytes);
    return out;
  }

  private skip(bytes: number): void {
    this.takeParts(bytes);
  }

  /** Removes `bytes` from the front of the buffer and returns them as views of the chunks they lie in. */
  private takeParts(bytes: number): Buffer[] {
    const parts: Buffer[] = [];
    let need = bytes;
    while (need > 0) {
      const chunk = this.chunks[0]!;
      if (chunk.byteLength <= need) {
        parts.push(chunk);
        this.chunks.shift();
        need -= chunk.byteLength;
      } else {
        parts.push(chunk.subarray(0, need));
        this.chunks[0] = chunk.subarray(need);
        need = 0;
      }
    }
    this.buffered -= bytes;
    return parts;
  }
}
