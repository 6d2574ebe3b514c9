// A libp2p stream dressed as the part of a net.Socket that the tunnel uses (a Duplex with setNoDelay, setTimeout and
// a remote address), so a stage tunnel to a provider behind NAT runs the very same WebSocket handshake, key proofs
// and sealed framing (tunnel-handshake.ts, tunnel-channel.ts) over a relayed or hole-punched libp2p connection.
// The stage's HTTP server takes it as a connection of its own; the head's WebSocket takes it as its connection.
import { Duplex } from 'node:stream';
import type { Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface';

export interface Libp2pStreamSocketOptions {
  /** Who dialled, for per-remote limits and logs: the remote's libp2p peer id. */
  remoteAddress: string;
  /** The connection's path (direct-udp, direct-tcp or relayed), for logs and status. */
  path: string;
}

export class Libp2pStreamSocket extends Duplex {
  readonly remoteAddress: string;
  readonly remotePort: undefined = undefined;
  readonly path: string;
  private idleTimer?: NodeJS.Timeout;

  constructor(
    private readonly stream: Stream,
    options: Libp2pStreamSocketOptions,
  ) {
    // The sealed frames go on as they come: no buffering here beyond what the stream itself holds.
    super({ allowHalfOpen: true, highWaterMark: 256 * 1024 });
    this.remoteAddress = options.remoteAddress;
    this.path = options.path;
    stream.addEventListener('message', this.onMessage);
    stream.addEventListener('remoteCloseWrite', this.onRemoteCloseWrite);
    stream.addEventListener('close', this.onClose);
  }

  /** Nagle's algorithm is the transport's business on a libp2p stream (yamux, a WebRTC data channel): nothing to set. */
  setNoDelay(): this {
    return this;
  }

  setKeepAlive(): this {
    return this;
  }

  /**
   * As net.Socket's: 'timeout' once the socket stays silent `ms` (HTTP and WebSocket use it for their handshake
   * deadlines); 0 turns it off.
   */
  setTimeout(ms: number, callback?: () => void): this {
    clearTimeout(this.idleTimer);
    this.idleTimer = undefined;
    if (callback) this.once('timeout', callback);
    if (ms > 0) {
      this.idleTimer = setTimeout(() => this.emit('timeout'), ms);
      this.idleTimer.unref();
    }
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    try {
      if (this.stream.send(chunk)) return callback();
      this.stream.onDrain().then(() => callback(), callback);
    } catch (error) {
      callback(error as Error);
    }
  }

  override _read(): void {
    if (this.stream.readStatus === 'paused') this.stream.resume();
  }

  /** end(): the stream's writable end closes once what is written has gone out; reading goes on (half-close). */
  override _final(callback: (error?: Error | null) => void): void {
    this.stream.close({ signal: AbortSignal.timeout(10_000) }).then(
      () => callback(),
      (error: Error) => {
        this.stream.abort(error);
        callback();
      },
    );
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    clearTimeout(this.idleTimer);
    this.stream.removeEventListener('message', this.onMessage);
    this.stream.removeEventListener('remoteCloseWrite', this.onRemoteCloseWrite);
    this.stream.removeEventListener('close', this.onClose);
    // destroy() is an abrupt end, as on a TCP socket: a reset, unless both ends are already closed.
    if (this.stream.status === 'open' || this.stream.status === 'closing') this.stream.abort(error ?? new Error('the tunnel socket was destroyed'));
    callback(error);
  }

  private readonly onMessage = (event: StreamMessageEvent): void => {
    if (this.idleTimer) this.idleTimer.refresh();
    const bytes = event.data.subarray();
    // A reader that does not keep up pauses the stream: the transport's flow control then slows the sender.
    if (!this.push(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))) this.stream.pause();
  };

  private readonly onRemoteCloseWrite = (): void => {
    this.push(null);
  };

  private readonly onClose = (event: StreamCloseEvent): void => {
    // A reset is the peer's ECONNRESET: reported to whoever listens for errors, never thrown at the process.
    if (event.error) return void this.destroy(this.listenerCount('error') > 0 ? event.error : undefined);
    this.push(null);
    // Both ends closed: nothing more can be written; what was read is handed on first.
    if (this.readableEnded) this.destroy();
    else this.once('end', () => this.destroy());
  };
}
