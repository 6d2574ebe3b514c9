// One authenticated WebSocket session from the phone to its node, speaking the node's protocol: hello,
// Nostr auth both ways (the node must prove the key the pairing link names), ready, then frames. Works over
// any WebSocket with the browser API: React Native's, the browser's, Node 22's.
import { checkSessionAuth, randomHex, signSessionAuth } from './envelopes.js';
import { FrameParseError, parseNodeFrame } from './frames.js';
import { publicKeyOfNpub, type PhoneKey } from './phone-key.js';
import { SUPPORTED_PROTOCOL_VERSIONS, type ErrorCode, type Frame, type OutgoingFrame, type PairingLink } from './protocol.js';

export const MOBILE_AGENT = 'infernet-mobile/0.1.0';
/** Below the node's default idle timeout (30 s), so an idle phone keeps its session. */
export const HEARTBEAT_INTERVAL_MS = 10_000;
export const HANDSHAKE_TIMEOUT_MS = 10_000;

/** The part of the WebSocket API the session uses. */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((event: unknown) => void) | null;
  onmessage: ((event: { data: unknown }) => void) | null;
  onclose: ((event: { code: number; reason: string }) => void) | null;
  onerror: ((event: unknown) => void) | null;
}
export type WebSocketFactory = (url: string) => WebSocketLike;

export const browserWebSocket: WebSocketFactory = (url) => {
  const Socket = (globalThis as unknown as { WebSocket?: new (url: string) => WebSocketLike }).WebSocket;
  if (!Socket) throw new NodeSessionError('closed', 'this platform has no WebSocket');
  return new Socket(url);
};

export class NodeSessionError extends Error {
  override readonly name = 'NodeSessionError';
  constructor(
    readonly code: ErrorCode | 'closed' | 'wrong_node' | 'unreachable' | 'insecure',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Plain ws:// only to this device or a private network (loopback, 10/8, 172.16/12, 192.168/16, *.local): beyond
 * it, the session must run over TLS (wss://), typically through a proxy in front of the node.
 */
export function checkSocketSecurity(url: string): void {
  const match = /^(wss?):\/\/(\[[^\]]+\]|[^/:?#]+)/i.exec(url);
  if (!match) throw new NodeSessionError('unreachable', `"${url}" is not a ws:// or wss:// URL`);
  const [, scheme, host] = match as unknown as [string, string, string];
  if (scheme.toLowerCase() === 'wss') return;
  const name = host.toLowerCase().replace(/^\[|\]$/g, '');
  const local =
    name === 'localhost' ||
    name.endsWith('.local') ||
    name === '::1' ||
    /^127\./.test(name) ||
    /^10\./.test(name) ||
    /^192\.168\./.test(name) ||
    /^172\.(1[6-9]|2\d|3[01])\./.test(name);
  if (!local) throw new NodeSessionError('insecure', `refusing plain ws:// to ${host}: beyond a private network the node must be reached over wss://`);
}

export type FrameListener = (frame: Frame) => void;

export class NodeSession {
  private socket?: WebSocketLike;
  private version = SUPPORTED_PROTOCOL_VERSIONS[0];
  private readonly challenge = randomHex(32);
  private readonly nodePublicKey: string;
  private readonly listeners = new Set<FrameListener>();
  private readonly closeListeners = new Set<(reason: string) => void>();
  private heartbeat?: ReturnType<typeof setInterval>;
  private closed = false;
  private open = false;

  private constructor(
    readonly link: PairingLink,
    private readonly key: PhoneKey,
  ) {
    this.nodePublicKey = publicKeyOfNpub(link.node);
  }

  /** Resolves once both sides are authenticated; rejects with NodeSessionError otherwise. */
  static connect(link: PairingLink, key: PhoneKey, createSocket: WebSocketFactory = browserWebSocket): Promise<NodeSession> {
    const session = new NodeSession(link, key);
    return session.start(createSocket);
  }

  get isOpen(): boolean {
    return this.open && !this.closed;
  }

  onFrame(listener: FrameListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  onClose(listener: (reason: string) => void): () => void {
    if (this.closed) listener('already closed');
    else this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  send(frame: OutgoingFrame): boolean {
    if (!this.isOpen || !this.socket) return false;
    this.socket.send(JSON.stringify({ v: this.version, ...frame }));
    return true;
  }

  close(reason = 'closed by the app'): void {
    this.socket?.close(1000, reason);
    this.finish(reason);
  }

  private start(createSocket: WebSocketFactory): Promise<NodeSession> {
    return new Promise<NodeSession>((resolve, reject) => {
      const fail = (error: NodeSessionError) => {
        clearTimeout(timer);
        reject(error);
        this.socket?.close(1000, error.message.slice(0, 120));
        this.finish(error.message);
      };
      const timer = setTimeout(() => fail(new NodeSessionError('unreachable', `no session with ${this.link.ws} within ${HANDSHAKE_TIMEOUT_MS} ms`)), HANDSHAKE_TIMEOUT_MS);
      let socket: WebSocketLike;
      try {
        checkSocketSecurity(this.link.ws);
      } catch (error) {
        return fail(error as NodeSessionError);
      }
      try {
        socket = this.socket = createSocket(this.link.ws);
      } catch (cause) {
        return fail(new NodeSessionError('unreachable', `cannot open ${this.link.ws}: ${(cause as Error).message}`, { cause }));
      }
      let peerVerified = false;
      let peerReady = false;
      const maybeOpen = () => {
        if (!peerVerified || !peerReady || this.open) return;
        this.open = true;
        clearTimeout(timer);
        this.heartbeat = setInterval(() => this.send({ type: 'heartbeat', ts: Date.now() }), HEARTBEAT_INTERVAL_MS);
        resolve(this);
      };
      socket.onopen = () => this.raw({ type: 'hello', versions: [...SUPPORTED_PROTOCOL_VERSIONS], pubkey: this.key.publicKey, role: 'client', agent: MOBILE_AGENT, challenge: this.challenge });
      socket.onerror = () => {
        if (!this.open) fail(new NodeSessionError('unreachable', `cannot reach the node at ${this.link.ws}`));
      };
      socket.onclose = (event) => {
        if (!this.open) fail(new NodeSessionError('closed', `the node closed the connection (${event.code}${event.reason ? ` ${event.reason}` : ''})`));
        else this.finish(`closed by the node (${event.code})`);
      };
      socket.onmessage = (event) => {
        let frame: Frame;
        try {
          frame = parseNodeFrame(typeof event.data === 'string' ? event.data : String(event.data));
        } catch (error) {
          if (error instanceof FrameParseError) return; // the node speaks a newer dialect: ignore what we cannot read
          throw error;
        }
        if (this.open) return this.deliver(frame);
        try {
          if (frame.type === 'hello') {
            if (frame.pubkey !== this.nodePublicKey) {
              return fail(new NodeSessionError('wrong_node', `the node at ${this.link.ws} is not ${this.link.node}: check the pairing link`));
            }
            this.version = Math.max(...frame.versions.filter((version) => (SUPPORTED_PROTOCOL_VERSIONS as readonly number[]).includes(version))) as typeof this.version;
            this.raw({ type: 'auth', event: signSessionAuth(this.key, frame.challenge, this.version) });
          } else if (frame.type === 'auth') {
            checkSessionAuth(frame.event, this.nodePublicKey, this.challenge);
            peerVerified = true;
            this.raw({ type: 'ready', version: this.version });
            maybeOpen();
          } else if (frame.type === 'ready') {
            peerReady = true;
            maybeOpen();
          } else if (frame.type === 'error') {
            fail(new NodeSessionError(frame.code, `the node refused the session: ${frame.message}`));
          }
        } catch (cause) {
          fail(new NodeSessionError('auth_failed', `the node failed authentication: ${(cause as Error).message}`, { cause }));
        }
      };
    });
  }

  private raw(frame: OutgoingFrame): void {
    this.socket?.send(JSON.stringify({ v: this.version, ...frame }));
  }

  private deliver(frame: Frame): void {
    for (const listener of [...this.listeners]) listener(frame);
  }

  private finish(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.open = false;
    if (this.heartbeat) clearInterval(this.heartbeat);
    for (const listener of [...this.closeListeners]) listener(reason);
    this.closeListeners.clear();
    this.listeners.clear();
  }
}
