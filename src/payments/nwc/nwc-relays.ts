// The relays of one NWC connection, for the client and the service alike: a NostrRelayPool whose publishing
// fails with NwcRelayError when no relay took the event (a request nobody can read must not wait for its answer).
import type { Filter } from 'nostr-tools/filter';
import type { Event } from 'nostr-tools/pure';
import { NostrRelayPool } from '../../identity/index.js';
import type { Logger } from '../../log/index.js';
import type { NostrEvent } from '../../protocol/index.js';
import { NwcRelayError } from './nwc-errors.js';

const RETRY_MS = 5_000;

export interface NwcRelaysOptions {
  urls: readonly string[];
  logger: Logger;
  /** Subscribed on every relay once connected (and again by nostr-tools after a reconnection). */
  filter: Filter;
  /** Every event a relay sends for the filter; `valid` is false when nostr-tools found its signature wrong. */
  onEvent: (event: unknown, relay: string, valid: boolean) => void;
  /** Called after each relay connects: what the other side must see from us there can be published then. */
  onConnect?: (relay: string) => void;
  retryMs?: number;
}

export class NwcRelays {
  private readonly pool: NostrRelayPool;

  constructor(private readonly options: NwcRelaysOptions) {
    this.pool = new NostrRelayPool({ ...options, purpose: 'NWC', retryMs: options.retryMs ?? RETRY_MS });
  }

  /** Resolves once every relay connected or failed its first attempt (then retried in the background). */
  start(): Promise<void> {
    return this.pool.start();
  }

  get connected(): string[] {
    return this.pool.connectedUrls;
  }

  /** Publishes to every connected relay; throws NwcRelayError when none took it. */
  async publish(event: Event): Promise<string[]> {
    const { accepted, refused } = await this.pool.publish(event as NostrEvent);
    if (accepted.length) return accepted;
    const why = refused.length ? refused.map(({ url, reason }) => `${url}: ${reason}`).join('; ') : `none of ${this.options.urls.join(', ')} is connected`;
    throw new NwcRelayError(`no relay took the event: ${why}`);
  }

  query(filter: Filter, timeoutMs?: number): Promise<Event[]> {
    return this.pool.query(filter, timeoutMs);
  }

  stop(): void {
    this.pool.stop();
  }
}
