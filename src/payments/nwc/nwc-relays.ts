// The relays of one NWC connection, for the client and the service alike: each connected through nostr-tools,
// a first connection that fails retried on a timer until stopped, every event published to all of them.
import { Relay, useWebSocketImplementation } from 'nostr-tools/relay';
import type { Filter } from 'nostr-tools/filter';
import type { Event } from 'nostr-tools/pure';
import WebSocket from 'ws';
import type { Logger } from '../../log/index.js';
import { NwcRelayError } from './nwc-errors.js';

// Node's built-in WebSocket re-fires "error" from inside close() and nostr-tools closes on error (see
// src/reputation/nostr-relays.ts): use ws.
useWebSocketImplementation(WebSocket);

const CONNECT_TIMEOUT_MS = 5_000;
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
  private readonly relays = new Map<string, Relay>();
  private readonly retries = new Map<string, NodeJS.Timeout>();
  private stopped = false;

  constructor(private readonly options: NwcRelaysOptions) {}

  /** Resolves once every relay connected or failed its first attempt (then retried in the background). */
  async start(): Promise<void> {
    await Promise.all(this.options.urls.map((url) => this.connect(url)));
  }

  get connected(): string[] {
    return [...this.relays.entries()].filter(([, relay]) => relay.connected).map(([url]) => url);
  }

  /** Publishes to every connected relay; throws NwcRelayError when none took it. */
  async publish(event: Event): Promise<string[]> {
    const refusals: string[] = [];
    const accepted: string[] = [];
    await Promise.all(
      [...this.relays.entries()].map(async ([url, relay]) => {
        try {
          await relay.publish(event);
          accepted.push(url);
        } catch (error) {
          refusals.push(`${url}: ${(error as Error).message}`);
        }
      }),
    );
    if (!accepted.length) throw new NwcRelayError(`no relay took the event${refusals.length ? `: ${refusals.join('; ')}` : `: none of ${this.options.urls.join(', ')} is connected`}`);
    return accepted;
  }

  /** Queries the stored events for a filter on every connected relay, each until its end of stored events. */
  async query(filter: Filter, timeoutMs = CONNECT_TIMEOUT_MS): Promise<Event[]> {
    const found: Event[] = [];
    await Promise.all(
      [...this.relays.values()].map(
        (relay) =>
          new Promise<void>((resolve) => {
            const subscription = relay.subscribe([filter], {
              onevent: (event) => found.push(event),
              oneose: () => {
                subscription.close();
                resolve();
              },
              onclose: () => resolve(),
              eoseTimeout: timeoutMs,
            });
          }),
      ),
    );
    return found;
  }

  stop(): void {
    this.stopped = true;
    for (const timer of this.retries.values()) clearTimeout(timer);
    this.retries.clear();
    for (const relay of this.relays.values()) relay.close();
    this.relays.clear();
  }

  private async connect(url: string): Promise<void> {
    if (this.stopped) return;
    const { logger, onEvent, filter } = this.options;
    try {
      const relay = await Relay.connect(url, { enableReconnect: false, timeout: CONNECT_TIMEOUT_MS });
      if (this.stopped) return relay.close();
      relay.enableReconnect = true;
      this.relays.set(url, relay);
      relay.subscribe([filter], { onevent: (event) => onEvent(event, url, true), oninvalidevent: (event) => onEvent(event, url, false) });
      this.options.onConnect?.(url);
    } catch (error) {
      logger.warn({ relay: url, err: (error as Error).message }, 'NWC: cannot reach the relay; retrying');
      const timer = setTimeout(() => {
        this.retries.delete(url);
        void this.connect(url);
      }, this.options.retryMs ?? RETRY_MS);
      timer.unref();
      this.retries.set(url, timer);
    }
  }
}
