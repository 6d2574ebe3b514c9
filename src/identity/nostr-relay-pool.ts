// Connections to a set of Nostr relays through nostr-tools, one subscription on each: every event published to
// all of them, what they send for the filter handed on (signature-failed ones too, marked, so callers can count
// refusals). A relay that cannot be reached at first is retried on a timer until stop(); once connected,
// nostr-tools reconnects it itself. Publishing never waits on a relay that is down.
import { Relay, useWebSocketImplementation } from 'nostr-tools/relay';
import type { Filter } from 'nostr-tools/filter';
import type { Event } from 'nostr-tools/pure';
import WebSocket from 'ws';
import type { Logger } from '../log/index.js';
import type { NostrEvent } from '../protocol/index.js';

// Node's built-in WebSocket (undici) re-fires "error" from inside close(), and nostr-tools closes on error: a
// refused connection recursed until the stack overflowed (measured with Node 22.23, nostr-tools 2.25.2). ws does not.
useWebSocketImplementation(WebSocket);

const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
const DEFAULT_RETRY_MS = 10_000;

export interface NostrRelayPoolOptions {
  urls: readonly string[];
  logger: Logger;
  /** Subscribed on every relay once connected (and again by nostr-tools after a reconnection). */
  filter: Filter;
  /** Every event a relay sends for the filter; `valid` is false when nostr-tools found its signature wrong. */
  onEvent: (event: unknown, url: string, valid: boolean) => void;
  /** Called each time a relay connects (first time or after being down): what it missed can be sent then. */
  onConnect?: (url: string) => void;
  /** Names the pool's purpose in its log lines, e.g. "reputation" or "NWC". */
  purpose: string;
  connectTimeoutMs?: number;
  retryMs?: number;
}

export interface PublishReport {
  accepted: string[];
  refused: Array<{ url: string; reason: string }>;
}

export class NostrRelayPool {
  private readonly relays = new Map<string, Relay>();
  private readonly retries = new Map<string, NodeJS.Timeout>();
  private stopped = false;

  constructor(private readonly options: NostrRelayPoolOptions) {}

  /** Connects to every relay; resolves once each has connected or failed its first attempt. */
  async start(): Promise<void> {
    await Promise.all(this.options.urls.map((url) => this.connect(url)));
  }

  get connectedUrls(): string[] {
    return [...this.relays.entries()].filter(([, relay]) => relay.connected).map(([url]) => url);
  }

  async publish(event: NostrEvent): Promise<PublishReport> {
    const report: PublishReport = { accepted: [], refused: [] };
    await Promise.all(
      [...this.relays.entries()].map(async ([url, relay]) => {
        try {
          await relay.publish(event as Event);
          report.accepted.push(url);
        } catch (error) {
          report.refused.push({ url, reason: (error as Error).message });
        }
      }),
    );
    return report;
  }

  /** Publishes to one relay; false when it is not connected or refuses. */
  async publishTo(url: string, event: NostrEvent): Promise<boolean> {
    const relay = this.relays.get(url);
    if (!relay?.connected) return false;
    return relay.publish(event as Event).then(
      () => true,
      () => false,
    );
  }

  /** The stored events for a filter on every connected relay, each read until its end of stored events. */
  async query(filter: Filter, timeoutMs = this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS): Promise<Event[]> {
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
    const { logger, onEvent, filter, purpose } = this.options;
    try {
      // nostr-tools' own reconnection only once connected: a first connection is retried here, on our timer.
      const relay = await Relay.connect(url, { enableReconnect: false, timeout: this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS });
      if (this.stopped) return relay.close();
      relay.enableReconnect = true;
      this.relays.set(url, relay);
      relay.subscribe([filter], { onevent: (event) => onEvent(event, url, true), oninvalidevent: (event) => onEvent(event, url, false) });
      logger.info({ relay: url, purpose }, 'connected to Nostr relay');
      this.options.onConnect?.(url);
    } catch (error) {
      logger.warn({ relay: url, purpose, err: (error as Error).message }, 'cannot reach Nostr relay; retrying');
      const timer = setTimeout(() => {
        this.retries.delete(url);
        void this.connect(url);
      }, this.options.retryMs ?? DEFAULT_RETRY_MS);
      timer.unref();
      this.retries.set(url, timer);
    }
  }
}
