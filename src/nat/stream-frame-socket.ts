// A libp2p stream dressed as the small part of a `ws` WebSocket that PeerSession uses (message, close and open
// events, readyState, send, close, bufferedAmount), so a session over a relayed or hole-punched libp2p
// connection runs exactly the same handshake, limits and job frames as over a WebSocket. Each text frame travels
// as a 4-byte big-endian length and its UTF-8 bytes.
import { EventEmitter } from 'node:events';
import type { Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface';
import type { WebSocket } from 'ws';
import { InfernetError } from '../errors/index.js';

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;
const LENGTH_BYTES = 4;
/** Close codes a WebSocket would report: 1000 normal, 1006 abnormal (no close frame), 1009 too big. */
const CLOSE_NORMAL = 1000;
const CLOSE_ABNORMAL = 1006;
const CLOSE_TOO_BIG = 1009;

export class FrameTooLargeError extends InfernetError {
  override readonly name = 'FrameTooLargeError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('frame_too_large', message, options);
  }
}

export class StreamFrameSocket extends EventEmitter {
  readonly CONNECTING = CONNECTING;
  readonly OPEN = OPEN;
  readonly CLOSING = CLOSING;
  readonly CLOSED = CLOSED;
  readyState: number = OPEN;
  private pending = Buffer.alloc(0);

  /** `maxPayload`: frames longer than this close the stream (1009), as ws does with its maxPayload. */
  constructor(
    private readonly stream: Stream,
    private readonly maxPayload: number,
  ) {
    super();
    // Generous: the session coalesces tokens when bufferedAmount grows, and a net test sends bursts.
    stream.maxWriteBufferLength = Math.max(stream.maxWriteBufferLength ?? 0, 4 * maxPayload + 1024 * 1024);
    stream.addEventListener('message', this.onMessage);
    stream.addEventListener('close', this.onClose);
    stream.addEventListener('remoteCloseWrite', this.onRemoteCloseWrite);
  }

  /** The subset of WebSocket that PeerSession touches; nothing else of ws is ever called on it. */
  asWebSocket(): WebSocket {
    return this as unknown as WebSocket;
  }

  get bufferedAmount(): number {
    return this.stream.writeBufferLength;
  }

  send(text: string): void {
    if (this.readyState !== OPEN) return;
    const body = Buffer.from(text, 'utf8');
    const header = Buffer.alloc(LENGTH_BYTES);
    header.writeUInt32BE(body.byteLength);
    try {
      this.stream.send(Buffer.concat([header, body]));
    } catch (error) {
      this.emit('error', error as Error);
      this.finish(CLOSE_ABNORMAL, 'send failed');
    }
  }

  close(code = CLOSE_NORMAL, reason = ''): void {
    if (this.readyState >= CLOSING) return;
    this.readyState = CLOSING;
    void this.stream.close({ signal: AbortSignal.timeout(5_000) }).catch((error: Error) => this.stream.abort(error));
    this.finish(code, reason);
  }

  private readonly onMessage = (event: StreamMessageEvent): void => {
    this.pending = Buffer.concat([this.pending, event.data.subarray()]);
    while (this.pending.byteLength >= LENGTH_BYTES) {
      const length = this.pending.readUInt32BE(0);
      if (length > this.maxPayload) {
        this.emit('error', new FrameTooLargeError(`a frame of ${length} bytes exceeds ${this.maxPayload}`));
        this.stream.abort(new FrameTooLargeError('frame too large'));
        return this.finish(CLOSE_TOO_BIG, 'frame too large');
      }
      if (this.pending.byteLength < LENGTH_BYTES + length) return;
      const frame = this.pending.subarray(LENGTH_BYTES, LENGTH_BYTES + length);
      this.pending = this.pending.subarray(LENGTH_BYTES + length);
      this.emit('message', Buffer.from(frame), false);
    }
  };

  private readonly onRemoteCloseWrite = (): void => {
    this.close(CLOSE_NORMAL, 'remote closed');
  };

  private readonly onClose = (event: StreamCloseEvent): void => {
    this.finish(event.error ? CLOSE_ABNORMAL : CLOSE_NORMAL, event.error?.message ?? '');
  };

  private finish(code: number, reason: string): void {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    this.stream.removeEventListener('message', this.onMessage);
    this.stream.removeEventListener('remoteCloseWrite', this.onRemoteCloseWrite);
    this.stream.removeEventListener('close', this.onClose);
    // Asynchronously, as ws does: a session closing its own socket records its own reason first.
    setImmediate(() => this.emit('close', code, Buffer.from(reason.slice(0, 120))));
  }
}
