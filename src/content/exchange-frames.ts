// The frames of /infernet/content/1.0.0. Each frame: u32 total length, u16 header length, a JSON header,
// then the body (a block's bytes, or nothing). Headers are parsed with zod at the edge; bodies are bytes
// that the fetcher hashes before it believes them.
//
//   have  {root}                        -> has {root, size} | dont-have {root}
//   want  {id, root, cid[, offset, length]} -> block {id, cid} + bytes | dont-have {id, cid, reason}
// A want with offset and length asks for a leaf: those bytes of the root's file; without, for an internal
// node by its CID. Requests may be pipelined; answers come back in request order.
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

export interface ExchangeFrame {
  header: ExchangeHeader;
  body: Uint8Array;
}

const PREFIX_BYTES = 6;
const MAX_FRAME_BYTES = PREFIX_BYTES + MAX_HEADER_BYTES + MAX_BLOCK_BYTES;

export function encodeFrame(header: ExchangeHeader, body: Uint8Array = new Uint8Array(0)): Uint8Array {
  const json = Buffer.from(JSON.stringify(header));
  if (json.byteLength > MAX_HEADER_BYTES) throw new ContentProtocolError(`a ${header.type} header of ${json.byteLength} bytes is over ${MAX_HEADER_BYTES}`);
  const frame = Buffer.allocUnsafe(PREFIX_BYTES + json.byteLength + body.byteLength);
  frame.writeUInt32BE(frame.byteLength - 4, 0);
  frame.writeUInt16BE(json.byteLength, 4);
  json.copy(frame, PREFIX_BYTES);
  frame.set(body, PREFIX_BYTES + json.byteLength);
  return frame;
}

/** Sends one frame, waiting for the stream to drain first when its buffer is full. */
export async function sendFrame(stream: Stream, header: ExchangeHeader, body?: Uint8Array, signal?: AbortSignal): Promise<void> {
  if (stream.writableNeedsDrain) await stream.onDrain({ signal });
  stream.send(encodeFrame(header, body));
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
      const bytes = data instanceof Uint8Array ? data : data.subarray();
      this.chunks.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
      this.buffered += bytes.byteLength;
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
    if (this.buffered < 4) return undefined;
    const head = this.peek(PREFIX_BYTES);
    if (!head) return undefined;
    const length = head.readUInt32BE(0);
    const headerLength = head.readUInt16BE(4);
    if (length + 4 > MAX_FRAME_BYTES || headerLength > MAX_HEADER_BYTES || headerLength + 2 > length) {
      this.failure = new ContentProtocolError(`a frame of ${length} bytes (header ${headerLength}) is over the limit`);
      this.stream.abort(this.failure);
      return undefined;
    }
    if (this.buffered < length + 4) return undefined;
    const frame = this.consume(length + 4);
    if (this.buffered <= READ_BUFFER_BYTES / 2) this.stream.resume();
    let header: ExchangeHeader;
    try {
      header = ExchangeHeader.parse(JSON.parse(frame.subarray(PREFIX_BYTES, PREFIX_BYTES + headerLength).toString('utf8')));
    } catch (cause) {
      this.failure = new ContentProtocolError(`an unparsable frame header: ${(cause as Error).message}`, { cause });
      this.stream.abort(this.failure);
      return undefined;
    }
    return { header, body: frame.subarray(PREFIX_BYTES + headerLength) };
  }

  private peek(bytes: number): Buffer | undefined {
    if (this.buffered < bytes) return undefined;
    if (this.chunks[0]!.byteLength < bytes) this.chunks = [Buffer.concat(this.chunks)];
    return this.chunks[0]!.subarray(0, bytes);
  }

  private consume(bytes: number): Buffer {
    let out: Buffer;
    const first = this.chunks[0]!;
    if (first.byteLength >= bytes) {
      out = first.subarray(0, bytes);
      if (first.byteLength === bytes) this.chunks.shift();
      else this.chunks[0] = first.subarray(bytes);
    } else {
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
      out = Buffer.concat(parts, bytes);
    }
    this.buffered -= bytes;
    return out;
  }
}
