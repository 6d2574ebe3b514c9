// The relays of one NWC connection, for the client and the service alike: a NostrRelayPool whose publishing
// fails with NwcRelayError when no relay took the event (a request nobody can read must not wait for its answer).
import type { Filter } from 'nostr-tools/filter';
import type { Event } from 'nostr-tools/pure';
import { NostrRelayPool, type NostrRelayPoolOptions } from '../../identity/index.js';
import type { NostrEvent } from '../../protocol/index.js';
import { NwcRelayError } from './nwc-errors.js';

const RETRY_MS = 5_000;

/** A relay pool's options; its log lines say NWC. */
export type NwcRelaysOptions = Omit<NostrRelayPoolOptions, 'purpose'>;

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
