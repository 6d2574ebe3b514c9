// An authenticated tunnel connection after its handshake: sealed binary frames in both directions, a byte
// budget, and flow control so that a slow reader on either side slows the writer instead of filling memory.
import type { WebSocket } from 'ws';
import { MAX_TUNNEL_CHUNK_BYTES } from './tunnel-protocol.js';
import { TunnelFrameRejectedError, type TunnelKeys } from './tunnel-cipher.js';
import { takeHeldFrames } from './held-frames.js';
import { InfernetError } from '../../errors/index.js';

/** Sends not yet written to the socket beyond which the producer is asked to pause. */
const HIGH_WATER_BYTES = 4 * 2 ** 20;
const CLOSE_POLICY = 1008;

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
  private readonly dataHandlers = new Set<(data: Buffer) => void>();
  private readonly closeHandlers = new Set<(reason: string) => void>();
  private readonly drainHandlers = new Set<() => void>();
  /** Opened frames that came before any data handler (bounded by the byte budget). */
  private readonly unread: Buffer[] = [];

  constructor(
    private readonly socket: WebSocket,
    private readonly keys: TunnelKeys,
    private readonly options: TunnelChannelOptions,
  ) {
    socket.on('message', (data, isBinary) => this.receive(data as Buffer, isBinary));
    socket.on('close', (code, reason) => this.handleClose(`closed by peer (${code}${reason.length ? ` ${reason.toString()}` : ''})`));
    socket.on('error', (error) => this.handleClose(`socket error: ${error.message}`));
    for (const [data, isBinary] of takeHeldFrames(socket)) this.receive(data, isBinary);
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

  /** False when the caller should wait for onDrain before sending more. */
  send(data: Buffer): boolean {
    if (this.closed) return false;
    for (let offset = 0; offset < data.length; offset += MAX_TUNNEL_CHUNK_BYTES) {
      const chunk = data.subarray(offset, offset + MAX_TUNNEL_CHUNK_BYTES);
      if (!this.count(chunk.length)) return false;
      this.socket.send(this.keys.send.seal(chunk), { binary: true }, () => this.maybeDrained());
    }
    return this.socket.bufferedAmount < HIGH_WATER_BYTES;
  }

  /** The first handler also gets what arrived before anyone listened. */
  onData(handler: (data: Buffer) => void): void {
    this.dataHandlers.add(handler);
    const unread = this.unread.splice(0);
    for (const data of unread) handler(data);
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
    this.socket.resume();
  }

  close(reason = 'closing', code = 1000): void {
    if (this.closed) return;
    this.socket.close(code, reason.slice(0, 120));
    this.handleClose(reason, false);
  }

  private receive(data: Buffer, isBinary: boolean): void {
    if (this.closed) return;
    if (!isBinary) return this.close('text frame after the handshake', CLOSE_POLICY);
    let plain: Buffer;
    try {
      plain = this.keys.receive.open(data);
    } catch (error) {
      return this.close(error instanceof TunnelFrameRejectedError ? error.message : 'bad frame', CLOSE_POLICY);
    }
    if (!this.count(plain.length)) return;
    if (!this.dataHandlers.size) return void this.unread.push(plain);
    for (const handler of this.dataHandlers) handler(plain);
  }

  private count(length: number): boolean {
    this.bytes += length;
    if (this.bytes <= this.options.maxBytes) return true;
    this.close(`tunnel byte limit of ${this.options.maxBytes} reached`, CLOSE_POLICY);
    return false;
  }

  private maybeDrained(): void {
    if (this.socket.bufferedAmount < HIGH_WATER_BYTES) for (const handler of this.drainHandlers) handler();
  }

  private handleClose(reason: string, terminate = true): void {
    if (this.closed) return;
    this.closed = true;
    for (const handler of this.closeHandlers) handler(reason);
    this.closeHandlers.clear();
    this.dataHandlers.clear();
    this.drainHandlers.clear();
    if (terminate && (this.socket.readyState === this.socket.OPEN || this.socket.readyState === this.socket.CONNECTING)) this.socket.terminate();
  }
}
