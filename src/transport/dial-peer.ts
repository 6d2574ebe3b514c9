// Outgoing sessions: one dial with a timeout, and a PeerLink that keeps a session to a peer alive with
// exponential backoff and jitter between attempts.
import WebSocket from 'ws';
import type { TransportLimits } from '../config/index.js';
import type { Logger } from '../log/index.js';
import { PeerUnreachableError } from './errors.js';
import { PeerSession, type SessionIdentity } from './peer-session.js';

export interface DialOptions {
  identity: SessionIdentity;
  limits: TransportLimits;
  logger: Logger;
  /** Time for the TCP/WebSocket connection and the handshake together. */
  timeoutMs?: number;
}

export async function dialPeer(url: string, options: DialOptions): Promise<PeerSession> {
  const timeoutMs = options.timeoutMs ?? options.limits.handshakeTimeoutMs;
  const socket = new WebSocket(url, { maxPayload: options.limits.maxFrameBytes * 4, perMessageDeflate: false, handshakeTimeout: timeoutMs });
  const session = new PeerSession(socket, options.identity, options.limits, options.logger, url);
  const unreachable = new Promise<never>((_, reject) =>
    socket.once('error', (error) => reject(new PeerUnreachableError(url, `cannot reach ${url}: ${error.message}`, { cause: error }))),
  );
  try {
    await Promise.race([session.ready, unreachable]);
  } catch (error) {
    session.close('handshake failed');
    if (error instanceof PeerUnreachableError) throw error;
    throw new PeerUnreachableError(url, `session with ${url} failed: ${(error as Error).message}`, { cause: error });
  }
  return session;
}

export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
  factor: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { initialMs: 250, maxMs: 30_000, factor: 2 };

/** The delay before attempt `attempt` (0-based), with full jitter in [50%, 100%] so reconnects do not stampede. */
export function backoffDelay(attempt: number, policy: BackoffPolicy = DEFAULT_BACKOFF, random = Math.random): number {
  const ceiling = Math.min(policy.maxMs, policy.initialMs * policy.factor ** attempt);
  return Math.round(ceiling * (0.5 + random() / 2));
}

/** What a reconnecting link needs besides its dial. */
export interface LinkOptions {
  backoff?: BackoffPolicy;
  onSession: (session: PeerSession) => void;
  logger: Logger;
  /** Fields that name the peer in this link's log lines. */
  logFields: Record<string, string>;
}

/** Keeps one session alive through `dial`: redials, with backoff, after every close until stopped. */
export class ReconnectingLink {
  private stopped = false;
  private attempt = 0;
  private timer?: NodeJS.Timeout;
  session?: PeerSession;

  constructor(
    private readonly dial: () => Promise<PeerSession>,
    private readonly linkOptions: LinkOptions,
  ) {}

  start(): void {
    void this.connect();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.session?.close('link stopped');
  }

  private async connect(): Promise<void> {
    if (this.stopped) return;
    const { logger, logFields } = this.linkOptions;
    try {
      const session = await this.dial();
      if (this.stopped) return session.close('link stopped');
      this.attempt = 0;
      this.session = session;
      session.onClose((reason) => {
        this.session = undefined;
        if (this.stopped) return;
        logger.warn({ ...logFields, reason }, 'link to peer lost; reconnecting');
        this.scheduleReconnect();
      });
      this.linkOptions.onSession(session);
    } catch (error) {
      logger.warn({ ...logFields, err: (error as Error).message }, 'cannot reach peer; will retry');
      this.scheduleReconnect();
    }
  }

  private scheduleReconnect(): void {
    if (this.stopped) return;
    const delay = backoffDelay(this.attempt++, this.linkOptions.backoff);
    this.timer = setTimeout(() => void this.connect(), delay);
  }
}

/** Keeps one session to `url` alive: redials after every close until stopped. */
export class PeerLink extends ReconnectingLink {
  constructor(
    readonly url: string,
    options: DialOptions & { backoff?: BackoffPolicy; onSession: (session: PeerSession) => void },
  ) {
    super(() => dialPeer(url, options), { ...options, logFields: { url } });
  }
}
