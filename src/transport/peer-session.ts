// One authenticated conversation with a peer over a WebSocket: handshake, version negotiation, limits,
// heartbeats and the error replies for bad frames. Job logic lives above it and sees only valid frames.
import type { WebSocket } from 'ws';
import { FrameRejectedError, negotiateVersion, parseFrame, SUPPORTED_PROTOCOL_VERSIONS } from '../protocol/index.js';
import type { ErrorCode, Frame, FrameOf, NodeRole, OutgoingFrame, ProviderCapabilities } from '../protocol/index.js';
import { newChallenge, npubOf, signSessionAuth, verifySessionAuth, type NodeKey } from '../identity/index.js';
import type { TransportLimits } from '../config/index.js';
import type { Logger } from '../log/index.js';
import { SessionRejectedError } from './errors.js';
import { TokenBucket } from './token-bucket.js';

/** Stream frames arrive at token rate; they are checked against the session's jobs instead of rate limited. */
const RATE_EXEMPT_TYPES = new Set<Frame['type']>(['job.tokens', 'job.progress', 'heartbeat']);
/** Network-test data is bounded by the test's byte budget instead (see src/network-test), so it measures the link. */
const NET_TEST_DATA_TYPES = new Set<Frame['type']>(['net.data', 'net.ack']);
/** A peer that keeps breaking the rules after this many rejected frames is disconnected. */
const MAX_REJECTED_FRAMES = 100;
const CLOSE_POLICY = 1008;
/** Frames held for a session whose owner has not attached a handler yet (it does so right after the handshake). */
const MAX_HELD_FRAMES = 1024;
const CLOSE_IDLE = 4000;
/** The longest message an error frame carries (src/protocol schemas). */
const MAX_ERROR_MESSAGE = 2048;

export interface SessionIdentity {
  key: NodeKey;
  role: NodeRole;
  agent: string;
  capabilities?: () => ProviderCapabilities | undefined;
  load?: () => { activeJobs: number; slots: number };
  /** Told the size of every frame sent and received, for the node's metrics. */
  onBytes?: (direction: 'sent' | 'received', bytes: number) => void;
}

export interface PeerInfo {
  pubkey: string;
  npub: string;
  role: NodeRole;
  agent: string;
  version: number;
  capabilities?: ProviderCapabilities;
}

export type FrameHandler = (frame: Frame, session: PeerSession) => void;

export class PeerSession {
  /** Resolves once both sides are authenticated; rejects if the handshake fails. */
  readonly ready: Promise<PeerInfo>;
  peer?: PeerInfo;
  private version?: number;
  private readonly challenge = newChallenge();
  private peerHello?: FrameOf<'hello'>;
  private peerVerified = false;
  private peerReady = false;
  private closed = false;
  private rejectedFrames = 0;
  private readonly bucket: TokenBucket;
  private readonly handlers = new Set<FrameHandler>();
  private held: Frame[] = [];
  private flushingHeld = false;
  private readonly closeHandlers = new Set<(reason: string) => void>();
  private readonly timers: NodeJS.Timeout[] = [];
  private idleTimer?: NodeJS.Timeout;
  private settleReady!: { resolve: (peer: PeerInfo) => void; reject: (error: Error) => void };
  readonly log: Logger;

  constructor(
    private readonly socket: WebSocket,
    private readonly identity: SessionIdentity,
    private readonly limits: TransportLimits,
    logger: Logger,
    readonly remote: string,
  ) {
    this.log = logger.child({ remote });
    this.bucket = new TokenBucket(limits.framesPerSecond, limits.frameBurst);
    this.ready = new Promise<PeerInfo>((resolve, reject) => (this.settleReady = { resolve, reject }));
    this.ready.catch(() => undefined); // a failed handshake is reported through close handlers too
    socket.on('message', (data, isBinary) => this.receive(data as Buffer, isBinary));
    socket.on('close', (code, reason) => this.handleClose(`closed by peer (${code}${reason.length ? ` ${reason.toString()}` : ''})`));
    socket.on('error', (error) => this.log.debug({ err: error.message }, 'socket error'));
    this.timers.push(setTimeout(() => this.handshakeExpired(), limits.handshakeTimeoutMs));
    this.resetIdleTimer();
    // A dialled socket may still be connecting: listening from the start means no early frame is missed.
    if (socket.readyState === socket.CONNECTING) socket.once('open', () => this.sendHello());
    else this.sendHello();
  }

  private sendHello(): void {
    const identity = this.identity;
    this.sendRaw({ type: 'hello', versions: [...SUPPORTED_PROTOCOL_VERSIONS], pubkey: identity.key.publicKey, role: identity.role, agent: identity.agent, challenge: this.challenge, ...this.capabilitiesField() }, SUPPORTED_PROTOCOL_VERSIONS[0]);
  }

  get isOpen(): boolean {
    return !this.closed && this.peerReady && this.peerVerified;
  }

  onFrame(handler: FrameHandler): () => void {
    this.handlers.add(handler);
    // Held frames go out once the caller has attached all its handlers (several, in the same turn), not to the first only.
    if (this.held.length && !this.flushingHeld) {
      this.flushingHeld = true;
      queueMicrotask(() => {
        this.flushingHeld = false;
        const held = this.held;
        this.held = [];
        for (const frame of held) this.deliver(frame);
      });
    }
    return () => this.handlers.delete(handler);
  }

  /** Returns a function that removes the handler: a long-lived session outlives the jobs that watch it. */
  onClose(handler: (reason: string) => void): () => void {
    if (this.closed) handler('already closed');
    else this.closeHandlers.add(handler);
    return () => this.closeHandlers.delete(handler);
  }

  /** Sends a frame stamped with the session's version; false if the session is closed. */
  send(frame: OutgoingFrame): boolean {
    if (this.closed || this.version === undefined) return false;
    return this.sendRaw(frame, this.version);
  }

  sendError(code: ErrorCode, message: string, jobId?: string): void {
    this.sendRaw({ type: 'error', code, message: message.slice(0, MAX_ERROR_MESSAGE), ...(jobId ? { jobId } : {}) }, this.version ?? SUPPORTED_PROTOCOL_VERSIONS[0]);
  }

  close(reason = 'closing', code = 1000): void {
    if (this.closed) return;
    this.socket.close(code, reason.slice(0, 120));
    this.handleClose(reason);
  }

  /** Bytes queued in the socket and not yet written: lets streaming code coalesce when the peer is slow. */
  get bufferedAmount(): number {
    return this.socket.bufferedAmount;
  }

  private sendRaw(frame: OutgoingFrame, version: number): boolean {
    if (this.socket.readyState !== this.socket.OPEN) return false;
    const text = JSON.stringify({ v: version, ...frame });
    this.socket.send(text);
    this.identity.onBytes?.('sent', Buffer.byteLength(text));
    return true;
  }

  private capabilitiesField(): { capabilities?: ProviderCapabilities } {
    const capabilities = this.identity.capabilities?.();
    return capabilities ? { capabilities } : {};
  }

  private receive(data: Buffer, isBinary: boolean): void {
    this.resetIdleTimer();
    this.identity.onBytes?.('received', data.length);
    if (isBinary) return this.reject('invalid_frame', 'binary frames are not part of the protocol');
    let frame: Frame;
    try {
      frame = parseFrame(data, { maxBytes: this.limits.maxFrameBytes, ...(this.version !== undefined && this.peerVerified ? { sessionVersion: this.version } : {}) });
    } catch (error) {
      if (error instanceof FrameRejectedError) return this.reject(error.code, error.message);
      throw error;
    }
    if (!RATE_EXEMPT_TYPES.has(frame.type) && !NET_TEST_DATA_TYPES.has(frame.type) && !this.bucket.take()) {
      return this.reject('rate_limited', `more than ${this.limits.framesPerSecond} frames per second`);
    }
    this.dispatch(frame);
  }

  private dispatch(frame: Frame): void {
    if (frame.type === 'hello') return this.handleHello(frame);
    if (frame.type === 'auth') return this.handleAuth(frame);
    if (frame.type === 'error' && !this.isOpen) return this.failHandshake(new SessionRejectedError(frame.code, frame.message));
    if (frame.type === 'ready') return this.handleReady();
    if (!this.isOpen) return this.reject('unauthenticated', `"${frame.type}" before the session is authenticated`);
    if (frame.type === 'heartbeat') return this.handleHeartbeat(frame);
    this.deliver(frame);
  }

  /** Frames can arrive in the same read as the handshake's last one, before the owner has attached its handler. */
  private deliver(frame: Frame): void {
    if (this.handlers.size && !this.flushingHeld) {
      for (const handler of this.handlers) this.handle(handler, frame);
    } else if (this.held.length < MAX_HELD_FRAMES) {
      this.held.push(frame);
    } else {
      this.reject('rate_limited', 'too many frames before the session was ready for them');
    }
  }

  /**
   * One handler, one frame: a handler that throws is a bug of this node, not of the peer. It is logged and answered
   * as internal, and neither the other handlers nor the process see it (a socket event that throws ends the process).
   */
  private handle(handler: FrameHandler, frame: Frame): void {
    try {
      handler(frame, this);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const jobId = 'jobId' in frame && typeof frame.jobId === 'string' ? frame.jobId : undefined;
      this.log.error({ type: frame.type, jobId, peer: this.peer?.npub, err: message }, 'frame handler failed');
      this.sendError('internal', `handling ${frame.type} failed: ${message}`, jobId);
    }
  }

  private handleHello(hello: FrameOf<'hello'>): void {
    if (this.peerHello) return this.reject('invalid_frame', 'hello sent twice');
    const version = negotiateVersion(SUPPORTED_PROTOCOL_VERSIONS, hello.versions);
    if (version === null) {
      this.sendError('unsupported_version', `no common protocol version: we speak ${SUPPORTED_PROTOCOL_VERSIONS.join(',')}, peer ${hello.versions.join(',')}`);
      return this.failHandshake(new SessionRejectedError('unsupported_version', 'no common protocol version'), CLOSE_POLICY);
    }
    this.peerHello = hello;
    this.version = version;
    this.sendRaw({ type: 'auth', event: signSessionAuth(this.identity.key, hello.challenge, version) }, version);
  }

  private handleAuth(frame: FrameOf<'auth'>): void {
    if (!this.peerHello || this.version === undefined) return this.reject('unauthenticated', 'auth before hello');
    try {
      verifySessionAuth(frame.event, this.peerHello.pubkey, this.challenge);
    } catch (error) {
      this.sendError('auth_failed', (error as Error).message);
      return this.failHandshake(new SessionRejectedError('auth_failed', (error as Error).message), CLOSE_POLICY);
    }
    this.peerVerified = true;
    this.sendRaw({ type: 'ready', version: this.version }, this.version);
    this.maybeOpen();
  }

  private handleReady(): void {
    if (this.peerReady) return this.reject('invalid_frame', 'ready sent twice');
    this.peerReady = true;
    this.maybeOpen();
  }

  private maybeOpen(): void {
    if (!this.isOpen || !this.peerHello || this.version === undefined) return;
    const hello = this.peerHello;
    this.peer = { pubkey: hello.pubkey, npub: npubOf(hello.pubkey), role: hello.role, agent: hello.agent, version: this.version, ...(hello.capabilities ? { capabilities: hello.capabilities } : {}) };
    this.timers.push(setInterval(() => this.sendHeartbeat(), this.limits.heartbeatIntervalMs));
    this.settleReady.resolve(this.peer);
  }

  private handleHeartbeat(frame: FrameOf<'heartbeat'>): void {
    if (frame.load && this.peer?.capabilities) this.peer.capabilities = { ...this.peer.capabilities, slots: frame.load.slots };
    for (const handler of this.handlers) this.handle(handler, frame);
  }

  private sendHeartbeat(): void {
    const load = this.identity.load?.();
    this.send({ type: 'heartbeat', ts: Date.now(), ...(load ? { load } : {}) });
  }

  private reject(code: ErrorCode, message: string): void {
    this.log.warn({ code, peer: this.peer?.npub }, `rejected frame: ${message.slice(0, MAX_ERROR_MESSAGE)}`);
    this.sendError(code, message);
    if (++this.rejectedFrames > MAX_REJECTED_FRAMES) this.close('too many rejected frames', CLOSE_POLICY);
  }

  private handshakeExpired(): void {
    if (this.isOpen || this.closed) return;
    this.sendError('unauthenticated', `handshake not completed within ${this.limits.handshakeTimeoutMs} ms`);
    this.failHandshake(new SessionRejectedError('unauthenticated', 'handshake timed out'), CLOSE_POLICY);
  }

  private failHandshake(error: SessionRejectedError, code = 1000): void {
    this.settleReady.reject(error);
    this.close(error.message, code);
  }

  private resetIdleTimer(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = setTimeout(() => {
      this.sendError('idle_timeout', `nothing received for ${this.limits.idleTimeoutMs} ms`);
      this.close('idle timeout', CLOSE_IDLE);
    }, this.limits.idleTimeoutMs);
  }

  private handleClose(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    for (const timer of this.timers) clearTimeout(timer);
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.settleReady.reject(new SessionRejectedError('closed', reason));
    for (const handler of this.closeHandlers) {
      try {
        handler(reason);
      } catch (error) {
        this.log.error({ peer: this.peer?.npub, err: error instanceof Error ? error.message : String(error) }, 'close handler failed');
      }
    }
    this.closeHandlers.clear();
    this.handlers.clear();
  }
}
