// The tunnel's framing after its handshake (protocol version 2), straight on the TCP connection:
//   type (1 byte) | length of the plaintext (4 bytes, big-endian) | ciphertext (length bytes) | GCM tag (16 bytes)
// The 5-byte header is the frame's additional authenticated data, so a changed type or length fails the tag like a
// changed body. The decoder deciphers the body piece by piece as TCP delivers it (no gathering, no second copy)
// and hands the plaintext on only once the tag has verified. Pure logic: the channel does the I/O.
import { MAX_TUNNEL_FRAME_BYTES } from './tunnel-protocol.js';
import { TAG_BYTES, TunnelFrameRejectedError, type FrameOpening, type TunnelOpener, type TunnelSealer } from './tunnel-cipher.js';

export const FRAME_HEADER_BYTES = 5;

/**
 * start: the head's first frame, empty; the worker sends nothing before it (so the head has left WebSocket framing
 * before any sealed byte reaches it), and it proves the head holds the keys. data: bytes of the stream. close: the
 * sender's reason for ending, UTF-8.
 */
export const FrameType = { start: 0, data: 1, close: 2 } as const;
export type FrameType = (typeof FrameType)[keyof typeof FrameType];

const KNOWN_TYPES: ReadonlySet<number> = new Set(Object.values(FrameType));

/** One frame of `plain` (pieces of it, sealed as one) in its wire pieces, to be written in this order with one writev. */
export function sealFrame(sealer: TunnelSealer, type: FrameType, plain: Buffer | readonly Buffer[]): Buffer[] {
  const pieces = Buffer.isBuffer(plain) ? [plain] : plain;
  let length = 0;
  for (const piece of pieces) length += piece.length;
  if (length > MAX_TUNNEL_FRAME_BYTES) throw new RangeError(`a tunnel frame carries at most ${MAX_TUNNEL_FRAME_BYTES} bytes`);
  const header = Buffer.allocUnsafe(FRAME_HEADER_BYTES);
  header[0] = type;
  header.writeUInt32BE(length, 1);
  const { body, tag } = sealer.seal(header, pieces);
  return [header, ...body, tag];
}

export interface FrameDecoderHandlers {
  /** A header arrived: throw to refuse the frame before its body is read (a byte budget, an unexpected type). */
  header: (type: FrameType, length: number) => void;
  /** A whole frame whose tag verified: its plaintext, in the pieces it arrived in. */
  frame: (type: FrameType, pieces: Buffer[]) => void;
}

/** Reads frames from the bytes of one direction of a tunnel; throws TunnelFrameRejectedError on the first bad one. */
export class FrameDecoder {
  private readonly header = Buffer.alloc(FRAME_HEADER_BYTES);
  private headerFilled = 0;
  private readonly tag = Buffer.alloc(TAG_BYTES);
  private tagFilled = 0;
  private type: FrameType = FrameType.data;
  private bodyLeft = 0;
  private opening: FrameOpening | undefined;
  private pieces: Buffer[] = [];
  private stopped = false;

  constructor(
    private readonly opener: TunnelOpener,
    private readonly handlers: FrameDecoderHandlers,
  ) {}

  /** No more frames are read, from this chunk or later ones (the channel closed). */
  stop(): void {
    this.stopped = true;
    this.pieces = [];
  }

  push(chunk: Buffer): void {
    let offset = 0;
    while (offset < chunk.length && !this.stopped) {
      if (!this.opening) {
        const take = Math.min(FRAME_HEADER_BYTES - this.headerFilled, chunk.length - offset);
        chunk.copy(this.header, this.headerFilled, offset, offset + take);
        this.headerFilled += take;
        offset += take;
        if (this.headerFilled === FRAME_HEADER_BYTES) this.beginFrame();
        continue;
      }
      if (this.bodyLeft > 0) {
        const take = Math.min(this.bodyLeft, chunk.length - offset);
        // Deciphered now, while the bytes are hot, but held until the tag verifies.
        this.pieces.push(this.opening.update(chunk.subarray(offset, offset + take)));
        this.bodyLeft -= take;
        offset += take;
        continue;
      }
      const take = Math.min(TAG_BYTES - this.tagFilled, chunk.length - offset);
      chunk.copy(this.tag, this.tagFilled, offset, offset + take);
      this.tagFilled += take;
      offset += take;
      if (this.tagFilled === TAG_BYTES) this.endFrame();
    }
  }

  /** True between frames: a connection that ends here ended cleanly; anywhere else, a frame was cut short. */
  get atFrameBoundary(): boolean {
    return !this.opening && this.headerFilled === 0;
  }

  private beginFrame(): void {
    const type = this.header[0]!;
    const length = this.header.readUInt32BE(1);
    if (!KNOWN_TYPES.has(type)) throw new TunnelFrameRejectedError(`tunnel frame of unknown type ${type}`);
    if (length > MAX_TUNNEL_FRAME_BYTES) throw new TunnelFrameRejectedError(`tunnel frame of ${length} bytes, over the limit of ${MAX_TUNNEL_FRAME_BYTES}`);
    this.handlers.header(type as FrameType, length);
    this.type = type as FrameType;
    this.bodyLeft = length;
    // setAAD digests the header at once, so its buffer is free for the next frame's.
    this.opening = this.opener.begin(this.header);
  }

  private endFrame(): void {
    const opening = this.opening!;
    const pieces = this.pieces;
    this.opening = undefined;
    this.pieces = [];
    this.headerFilled = 0;
    this.tagFilled = 0;
    opening.verify(this.tag);
    this.handlers.frame(this.type, pieces);
  }
}
