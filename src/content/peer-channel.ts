// One stream to one holder, over which a fetch pipelines its wants. Answers come in request order; a peer that
// goes silent past the timeout, breaks the protocol or closes the stream fails every request still waiting,
// and the fetch sends those blocks elsewhere.
import type { Libp2p, PeerId, Stream } from '@libp2p/interface';
import type { Multiaddr } from '@multiformats/multiaddr';
import type { CID } from 'multiformats/cid';
import { CONTENT_PROTOCOL } from './constants.js';
import { ContentProtocolError } from './errors.js';
import { FrameReader, sendFrame, type ExchangeFrame } from './exchange-frames.js';
import { InfernetError } from '../errors/index.js';

/** The peer is gone (closed, reset, timed out): not its fault as far as we can tell, so not banned. */
export class PeerGoneError extends InfernetError {
  override readonly name = 'PeerGoneError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('provider_unreachable', message, options);
  }
}

export interface WantRequest {
  root: CID;
  cid: CID;
  /** For a leaf: where its bytes lie in the file. */
  offset?: number;
  length?: number;
}

export interface BlockBytes {
  parts: readonly Uint8Array[];
  bytes: number;
}

interface Waiter {
  resolve: (frame: ExchangeFrame) => void;
  reject: (error: Error) => void;
}

export class PeerChannel {
  bytes = 0;
  blocks = 0;
  private nextId = 0;
  private readonly waiting = new Map<number, Waiter>();
  private haveWaiter?: Waiter;
  private failure?: Error;
  private timer?: NodeJS.Timeout;

  private constructor(
    readonly peerId: string,
    private readonly stream: Stream,
    private readonly timeoutMs: number,
  ) {
    void this.readAnswers();
  }

  static async open(libp2p: Libp2p, target: PeerId | Multiaddr, timeoutMs: number, signal?: AbortSignal): Promise<PeerChannel> {
    const options = { signal: signal ?? AbortSignal.timeout(timeoutMs) };
    const connection = await libp2p.dial(target, options);
    const stream = await connection.newStream(CONTENT_PROTOCOL, options);
    return new PeerChannel(connection.remotePeer.toString(), stream, timeoutMs);
  }

  get isOpen(): boolean {
    return this.failure === undefined;
  }

  /** Why the channel closed, once it has. */
  get error(): Error | undefined {
    return this.failure;
  }

  /** The size of the root's file when the peer holds it, undefined when it does not. */
  async have(root: CID): Promise<number | undefined> {
    const answer = await this.request(
      (waiter) => (this.haveWaiter = waiter),
      () => sendFrame(this.stream, { type: 'have', root: root.toString() }),
    );
    return answer.header.type === 'has' ? answer.header.size : undefined;
  }

  /** Requests sent on this channel and not yet answered. */
  get outstanding(): number {
    return this.waiting.size;
  }

  /**
   * The block's bytes, unverified, as the pieces they arrived in (never joined into one buffer), or undefined when
   * the peer says it does not have it.
   */
  async want(request: WantRequest): Promise<BlockBytes | undefined> {
    const id = this.nextId++;
    const answer = await this.request(
      (waiter) => this.waiting.set(id, waiter),
      () =>
        sendFrame(this.stream, {
          type: 'want',
          id,
          root: request.root.toString(),
          cid: request.cid.toString(),
          ...(request.offset !== undefined && request.length !== undefined ? { offset: request.offset, length: request.length } : {}),
        }),
    );
    if (answer.header.type === 'dont-have') return undefined;
    if (answer.header.type !== 'block' || answer.header.cid !== request.cid.toString()) throw this.fail(new ContentProtocolError(`${this.peerId} answered a want for ${request.cid} with ${answer.header.type}`));
    this.bytes += answer.bodyBytes;
    this.blocks++;
    return { parts: answer.parts, bytes: answer.bodyBytes };
  }

  close(reason: Error): void {
    this.fail(reason);
  }

  private async request(register: (waiter: Waiter) => void, send: () => Promise<void>): Promise<ExchangeFrame> {
    if (this.failure) throw this.failure;
    const answer = new Promise<ExchangeFrame>((resolve, reject) => register({ resolve, reject }));
    // The channel may fail while the send below waits for a drain (the holder closed the stream or died): the
    // answer is then rejected before anyone awaits it, and an unhandled rejection would end the process. The
    // caller still gets that rejection through `return answer`.
    answer.catch(() => undefined);
    this.armTimer();
    try {
      await send();
    } catch (cause) {
      throw this.fail(new PeerGoneError(`sending to ${this.peerId} failed: ${(cause as Error).message}`, { cause }));
    }
    return answer;
  }

  private async readAnswers(): Promise<void> {
    try {
      for await (const frame of new FrameReader(this.stream)) {
        const { header } = frame;
        const id = 'id' in header ? header.id : undefined;
        if (id === undefined) {
          const waiter = this.haveWaiter;
          this.haveWaiter = undefined;
          if (!waiter) throw new ContentProtocolError(`${this.peerId} sent a ${header.type} nobody asked for`);
          waiter.resolve(frame);
        } else {
          const waiter = this.waiting.get(id);
          if (!waiter) throw new ContentProtocolError(`${this.peerId} answered request ${id}, which is not waiting`);
          this.waiting.delete(id);
          waiter.resolve(frame);
        }
        this.armTimer();
      }
      this.fail(new PeerGoneError(`${this.peerId} closed the content stream`));
    } catch (error) {
      this.fail(error instanceof ContentProtocolError ? error : new PeerGoneError(`${this.peerId}: ${(error as Error).message}`, { cause: error }));
    }
  }

  /** One timer for the whole channel: reset by every answer, running while anything is outstanding. */
  private armTimer(): void {
    clearTimeout(this.timer);
    if (!this.waiting.size && !this.haveWaiter) return;
    this.timer = setTimeout(() => this.fail(new PeerGoneError(`${this.peerId} did not answer within ${this.timeoutMs} ms`)), this.timeoutMs);
    this.timer.unref();
  }

  private fail(error: Error): Error {
    if (this.failure) return this.failure;
    this.failure = error;
    clearTimeout(this.timer);
    for (const waiter of this.waiting.values()) waiter.reject(error);
    this.waiting.clear();
    this.haveWaiter?.reject(error);
    this.haveWaiter = undefined;
    if (this.stream.status === 'open') this.stream.abort(error);
    return error;
  }
}
