// The node's Nostr relays, through nostr-tools: outcome events are published to every relay and read back from
// all of them. A relay that cannot be reached is retried in the background until the node stops; publishing
// never waits on one that is down.
import { Relay, useWebSocketImplementation } from 'nostr-tools/relay';
import type { Event } from 'nostr-tools/pure';
import WebSocket from 'ws';
import type { Logger } from '../log/index.js';
import type { NostrEvent } from '../protocol/index.js';
import { EVENT_KIND_JOB_OUTCOME } from './reputation-event.js';

export interface NostrRelaysOptions {
  urls: readonly string[];
  logger: Logger;
  /** Every outcome event a relay sends; verification is the caller's. */
  onEvent: (event: unknown, url: string) => void;
  /** Called each time a relay connects (first time or after being down): what it missed can be sent then. */
  onConnect?: (url: string) => void;
  /** Only events at least this recent are asked for (unix seconds). */
  since?: number;
  connectTimeoutMs?: number;
  retryMs?: number;
}

export interface PublishReport {
  accepted: string[];
  refused: Array<{ url: string; reason: string }>;
}

// Node's built-in WebSocket (undici) re-fires "error" from inside close(), and nostr-tools closes on error: a
// refused connection recursed until the stack overflowed (measured with Node 22.23, nostr-tools 2.25.2). ws does not.
useWebSocketImplementation(WebSocket);

const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;
const DEFAULT_RETRY_MS = 10_000;

export class NostrRelays {
  private readonly relays = new Map<string, Relay>();
  private readonly retries = new Map<string, NodeJS.Timeout>();
  private stopped = false;

  constructor(private readonly options: NostrRelaysOptions) {}

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

  stop(): void {
    this.stopped = true;
    for (const timer of this.retries.values()) clearTimeout(timer);
    this.retries.clear();
    for (const relay of this.relays.values()) relay.close();
    this.relays.clear();
  }

  private async connect(url: string): Promise<void> {
    if (this.stopped) return;
    const { logger, onEvent, since } = this.options;
    try {
      // nostr-tools' own reconnection only once connected: a first connection is retried here, on our timer.
      const relay = await Relay.connect(url, { enableReconnect: false, timeout: this.options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS });
      if (this.stopped) return relay.close();
      relay.enableReconnect = true;
      this.relays.set(url, relay);
      relay.subscribe([{ kinds: [EVENT_KIND_JOB_OUTCOME], ...(since !== undefined ? { since } : {}) }], {
        onevent: (event) => onEvent(event, url),
        // nostr-tools drops events whose signature fails before onevent: hand them on, so they are counted as refused.
        oninvalidevent: (event) => onEvent(event, url),
      });
      logger.info({ relay: url }, 'connected to Nostr relay');
      this.options.onConnect?.(url);
    } catch (error) {
      logger.warn({ relay: url, err: (error as Error).message }, 'cannot reach Nostr relay; retrying');
      const timer = setTimeout(() => {
        this.retries.delete(url);
        void this.connect(url);
      }, this.options.retryMs ?? DEFAULT_RETRY_MS);
      timer.unref();
      this.retries.set(url, timer);
    }
  }
}
