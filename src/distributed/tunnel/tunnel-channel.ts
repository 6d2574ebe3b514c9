// An authenticated tunnel connection after its handshake: sealed frames in both directions straight on the TCP
// connection (tunnel-framing.ts), a byte budget, and flow control so that a slow reader on either side slows the
// writer instead of filling memory.
import type { Socket } from 'node:net';
import { MAX_TUNNEL_FRAME_BYTES } from './tunnel-protocol.js';
import { TunnelFrameRejectedError, type TunnelKeys } from './tunnel-cipher.js';
import { FrameDecoder, FrameType, sealFrame } from './tunnel-framing.js';
import { InfernetError } from '../../errors/index.js';

/** Bytes sealed but not yet written to the connection beyond which the producer is asked to pause. */
const HIGH_WATER_BYTES = 4 * 2 ** 20;
/**
 * What is sent in one turn of the event loop goes out as one frame, up to this much: a socket delivers 64 KiB a read,
 * and a cipher, a tag and a write per read cost more than the reads gathered. Gathering never waits for more bytes.
 */
const GATHER_BYTES = 256 * 1024;
/** How long a closing side waits for the peer to close its end after its own close frame, before cutting it. */
const CLOSE_LINGER_MS = 3_000;
/** A close frame's reason is for a log line: 120 characters are at most 360 bytes of UTF-8. */
const MAX_CLOSE_REASON_CHARS = 120;
const MAX_CLOSE_REASON_BYTES = 512;
const EMPTY = Buffer.alloc(0);

export class TunnelLimitError extends InfernetError {
  override readonly name = 'TunnelLimitError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid_frame', message, options);
  }
}

export interface TunnelChannelOptions {
  /** Both directions together; the tunnel closes when it is spent. */
  maxBytes: number;
  /** Who is at the other end, by hex public key. */
  peer: string;
}

export class TunnelChannel {
  private bytes = 0;
  private closed = false;
  /** The head's start frame is sent (head) or was received (worker): until then the worker only holds its frames. */
  private started: boolean;
  private held: Buffer[][] = [];
  private heldBytes = 0;
  /** Sent in this turn of the event loop, not yet sealed. */
  private gathered: Buffer[] = [];
  private gatheredBytes = 0;
  private sealScheduled = false;
  /** send() said to wait: the drain handlers are due once the written bytes fall under the mark. */
  private blocked = false;
  private readonly decoder: FrameDecoder;
  private readonly dataHandlers = new Set<(pieces: readonly Buffer[]) => void>();
  private readonly closeHandlers = new Set<(reason: string) => void>();
  private readonly drainHandlers = new Set<() => void>();
  /** Opened frames that came before any data handler (bounded by the byte budget). */
  private readonly unread: Buffer[][] = [];

  /** `socket` is the connection the handshake ran on, out of WebSocket framing and paused (tunnel-handshake.ts). */
  constructor(
    private readonly socket: Socket,
    private readonly keys: TunnelKeys,
    private readonly options: TunnelChannelOptions,
  ) {
    this.decoder = new FrameDecoder(keys.receive, { header: (type, length) => this.admit(type, length), frame: (type, pieces) => this.receive(type, pieces) });
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      try {
        this.decoder.push(chunk);
      } catch (error) {
        this.close(error instanceof TunnelFrameRejectedError || error instanceof TunnelLimitError ? error.message : `bad frame: ${(error as Error).message}`);
      }
    });
    socket.on('end', () => this.handleClose(this.decoder.atFrameBoundary ? 'closed by peer' : 'the connection ended inside a frame', 'end'));
    socket.on('close', () => this.handleClose('the connection closed', 'destroy'));
    socket.on('error', (error) => this.handleClose(`socket error: ${error.message}`, 'destroy'));
    this.started = keys.side === 'head';
    if (this.started) this.write(sealFrame(keys.send, FrameType.start, EMPTY));
    socket.resume();
  }

  get peer(): string {
    return this.options.peer;
  }

  get isOpen(): boolean {
    return !this.closed;
  }

  get bytesMoved(): number {
    return this.bytes;
  }

  /**
   * False when the caller should wait for onDrain before sending more. `data` is sealed later in this turn of the
   * event loop (with whatever else is sent in it), so the caller must not change it after the call.
   */
  send(data: Buffer): boolean {
    if (this.closed || !this.count(data.length)) return false;
    if (!data.length) return !this.blocked;
    this.gathered.push(data);
    this.gatheredBytes += data.length;
    if (this.gatheredBytes >= GATHER_BYTES) this.sealGathered();
    else if (!this.sealScheduled) {
      this.sealScheduled = true;
      setImmediate(this.sealLater);
    }
    if (this.gatheredBytes + this.heldBytes + this.socket.writableLength < HIGH_WATER_BYTES) return true;
    this.blocked = true;
    return false;
  }

  /** Each frame whole, as one buffer: for messages (JSON). The first handler also gets what arrived before anyone listened. */
  onData(handler: (data: Buffer) => void): void {
    this.onDataPieces((pieces) => handler(pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces)));
  }

  /** Each frame in the pieces it arrived in, verified: for a byte stream, which writes them on without joining them. */
  onDataPieces(handler: (pieces: readonly Buffer[]) => void): void {
    this.dataHandlers.add(handler);
    const unread = this.unread.splice(0);
    for (const pieces of unread) handler(pieces);
  }

  onDrain(handler: () => void): void {
    this.drainHandlers.add(handler);
  }

  onClose(handler: (reason: string) => void): void {
    if (this.closed) handler('already closed');
    else this.closeHandlers.add(handler);
  }

  /** Stops reading from the peer until resume(): TCP's own flow control then slows the sender. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    if (!this.closed) this.socket.resume();
  }

  /** Tells the peer why in a sealed close frame, after what is already sent. */
  close(reason = 'closing'): void {
    if (this.closed) return;
    this.sealGathered();
    if (this.started) this.write(sealFrame(this.keys.send, FrameType.close, Buffer.from(reason.slice(0, MAX_CLOSE_REASON_CHARS), 'utf8')));
    this.handleClose(reason, 'end');
  }

  /** A header arrived: refused here, before its body is read or deciphered, when it breaks the rules. */
  private admit(type: FrameType, length: number): void {
    if (type === FrameType.start) {
      if (this.keys.side === 'head' || this.started) throw new TunnelFrameRejectedError('unexpected start frame');
      if (length !== 0) throw new TunnelFrameRejectedError('start frame with a body');
      return;
    }
    if (!this.started) throw new TunnelFrameRejectedError('a frame before the start frame');
    if (type === FrameType.close) {
      if (length > MAX_CLOSE_REASON_BYTES) throw new TunnelFrameRejectedError('close frame with an oversized reason');
      return;
    }
    if (this.bytes + length > this.options.maxBytes) throw new TunnelLimitError(`tunnel byte limit of ${this.options.maxBytes} reached`);
  }

  private receive(type: FrameType, pieces: Buffer[]): void {
    if (this.closed) return;
    if (type === FrameType.start) return this.start();
    if (type === FrameType.close) return this.handleClose(`closed by peer (${Buffer.concat(pieces).toString('utf8')})`, 'end');
    let length = 0;
    for (const piece of pieces) length += piece.length;
    if (!this.count(length)) return;
    if (!this.dataHandlers.size) return void this.unread.push(pieces);
    for (const handler of this.dataHandlers) handler(pieces);
  }

  private readonly sealLater = (): void => {
    this.sealScheduled = false;
    if (!this.closed) this.sealGathered();
  };

  /** What was sent since the last frame, in frames of at most MAX_TUNNEL_FRAME_BYTES. */
  private sealGathered(): void {
    while (this.gatheredBytes > 0) {
      const pieces: Buffer[] = [];
      let length = 0;
      while (this.gathered.length && length < MAX_TUNNEL_FRAME_BYTES) {
        const next = this.gathered[0]!;
        const take = Math.min(next.length, MAX_TUNNEL_FRAME_BYTES - length);
        pieces.push(take === next.length ? next : next.subarray(0, take));
        if (take === next.length) this.gathered.shift();
        else this.gathered[0] = next.subarray(take);
        length += take;
      }
      this.gatheredBytes -= length;
      const frame = sealFrame(this.keys.send, FrameType.data, pieces);
      if (this.started) this.write(frame);
      else this.hold(frame);
    }
  }

  private start(): void {
    this.started = true;
    const held = this.held;
    this.held = [];
    this.heldBytes = 0;
    for (const frame of held) this.write(frame);
  }

  private hold(frame: Buffer[]): void {
    this.held.push(frame);
    for (const piece of frame) this.heldBytes += piece.length;
  }

  /** Header, ciphertext and tag in one writev: no copy joins them. */
  private write(frame: Buffer[]): void {
    this.socket.cork();
    for (let i = 0; i < frame.length - 1; i++) this.socket.write(frame[i]!);
    this.socket.write(frame[frame.length - 1]!, this.afterWrite);
    this.socket.uncork();
  }

  private readonly afterWrite = (): void => {
    if (!this.blocked || this.closed || this.heldBytes + this.socket.writableLength >= HIGH_WATER_BYTES) return;
    this.blocked = false;
    for (const handler of this.drainHandlers) handler();
  };

  private count(length: number): boolean {
    this.bytes += length;
    if (this.bytes <= this.options.maxBytes) return true;
    this.close(`tunnel byte limit of ${this.options.maxBytes} reached`);
    return false;
  }

  /** 'end': what is written still goes out, then the connection ends (cut after a while if the peer lingers). */
  private handleClose(reason: string, ending: 'end' | 'destroy'): void {
    if (this.closed) return;
    this.closed = true;
    this.decoder.stop();
    this.held = [];
    this.gathered = [];
    this.gatheredBytes = 0;
    this.unread.length = 0;
    for (const handler of this.closeHandlers) handler(reason);
    this.closeHandlers.clear();
    this.dataHandlers.clear();
    this.drainHandlers.clear();
    if (ending === 'destroy' || this.socket.destroyed) return void this.socket.destroy();
    this.socket.end();
    setTimeout(() => this.socket.destroy(), CLOSE_LINGER_MS).unref();
  }
}
