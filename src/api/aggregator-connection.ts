// One client session with an aggregator, shared by every API request: opened on first need (trying the configured
// aggregators in order), reused while it stays open, and redialled on the next request after it closes. A
// handshake per request would add signatures and a round trip to every first token.
import type { TransportLimits } from '../config/index.js';
import type { NodeKey } from '../identity/index.js';
import type { Logger } from '../log/index.js';
import { dialPeer, type PeerSession } from '../transport/index.js';
import { InfernetError } from '../errors/index.js';

export class NoAggregatorError extends InfernetError {
  override readonly name = 'NoAggregatorError';
  constructor(
    readonly urls: readonly string[],
    message: string,
    options?: { cause?: unknown },
  ) {
    super('provider_unreachable', message, options);
  }
}

export interface AggregatorConnectionOptions {
  /** Tried in order until one answers: a fixed choice. */
  urls: readonly string[];
  /**
   * When no URL is configured: the aggregators found through discovery, best first, asked again at each dial so a
   * session lost with one aggregator moves to the next one found.
   */
  discover?: () => Promise<readonly string[]>;
  key: NodeKey;
  agent: string;
  limits: TransportLimits;
  logger: Logger;
}

export class AggregatorConnection {
  private current?: PeerSession;
  private dialing?: Promise<PeerSession>;
  private closed = false;

  constructor(private readonly options: AggregatorConnectionOptions) {}

  /** An open session; concurrent callers share one dial. Rejects with NoAggregatorError. */
  session(): Promise<PeerSession> {
    if (this.current?.isOpen) return Promise.resolve(this.current);
    this.dialing ??= this.dialFirst().finally(() => (this.dialing = undefined));
    return this.dialing;
  }

  close(): void {
    this.closed = true;
    this.current?.close('API stopped');
  }

  private async dialFirst(): Promise<PeerSession> {
    const { key, agent, limits, logger } = this.options;
    if (this.closed) throw new NoAggregatorError(this.options.urls, 'the API is shutting down');
    const urls = await this.candidateUrls();
    const failures: string[] = [];
    for (const url of urls) {
      try {
        const session = await dialPeer(url, { identity: { key, role: 'client', agent }, limits, logger });
        return this.adopt(session, url);
      } catch (error) {
        failures.push((error as Error).message);
      }
    }
    throw new NoAggregatorError(urls, `no aggregator reachable: ${failures.join('; ')}`);
  }

  private async candidateUrls(): Promise<readonly string[]> {
    const { urls, discover } = this.options;
    if (urls.length) return urls;
    if (!discover) throw new NoAggregatorError(urls, 'this node names no aggregator: init it with --connect WS_URL or --bootstrap MULTIADDR');
    const found = await discover();
    if (!found.length) throw new NoAggregatorError(found, 'no aggregator found through discovery yet: is a bootstrap peer reachable?');
    return found;
  }

  private adopt(session: PeerSession, url: string): PeerSession {
    this.current = session;
    session.onClose((reason) => {
      if (this.current === session) this.current = undefined;
      if (!this.closed) this.options.logger.warn({ url, reason }, 'API session with the aggregator closed; the next request redials');
    });
    if (this.closed) session.close('API stopped');
    this.options.logger.info({ url, aggregator: session.peer?.npub }, 'API connected to an aggregator');
    return session;
  }
}
