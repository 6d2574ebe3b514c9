// Which providers an aggregator keeps a link to, of those discovery brought: one link per provider key, at the
// endpoint of its newest record, and a bounded number in all. A record names an endpoint the aggregator then dials
// again and again (a link redials after every close): without these bounds one key re-announcing with a new
// endpoint each time, or many keys, would turn the aggregator into a dialler of any host they name (threat
// model, attack 13). A link connected to its provider is kept when the provider's record names another endpoint
// meanwhile (a NATed provider whose relay reservation lapsed for a moment re-announces its unreachable ws:// one):
// the new endpoint is followed once that link is no longer connected (followPending).

/** Enough for a large network seen from one aggregator; a link is a socket and a redial timer. */
export const MAX_DISCOVERED_PROVIDER_LINKS = 256;

export interface DiscoveredLink {
  stop(): void;
}

export type FollowResult = 'linked' | 'shared' | 'unchanged' | 'full' | 'kept';

export class DiscoveredProviderLinks<Link extends DiscoveredLink> {
  private readonly byEndpoint = new Map<string, { link: Link; pubkeys: Set<string> }>();
  private readonly endpointOf = new Map<string, string>();
  /** The endpoint a provider's newest record names, while its link to an older one stays connected. */
  private readonly pending = new Map<string, string>();

  constructor(
    private readonly open: (endpoint: string) => Link,
    private readonly maxLinks = MAX_DISCOVERED_PROVIDER_LINKS,
    /** Whether a link holds an open session with that provider now; none: a new record's endpoint is followed at once. */
    private readonly isConnected?: (link: Link, pubkey: string) => boolean,
  ) {}

  /** Links open now (providers sharing an endpoint share one). */
  get size(): number {
    return this.byEndpoint.size;
  }

  get(endpoint: string): Link | undefined {
    return this.byEndpoint.get(endpoint)?.link;
  }

  /**
   * Links to the endpoint of a provider's newest record. Its link to an endpoint it named before is stopped
   * (unless another provider names that one too); a new endpoint beyond maxLinks is not dialled ('full').
   */
  follow(pubkey: string, endpoint: string): FollowResult {
    const previous = this.endpointOf.get(pubkey);
    if (previous === endpoint) {
      this.pending.delete(pubkey);
      return 'unchanged';
    }
    const current = previous === undefined ? undefined : this.byEndpoint.get(previous)?.link;
    if (current && this.isConnected?.(current, pubkey)) {
      this.pending.set(pubkey, endpoint);
      return 'kept';
    }
    if (previous !== undefined) this.forget(pubkey);
    const existing = this.byEndpoint.get(endpoint);
    if (existing) {
      existing.pubkeys.add(pubkey);
      this.endpointOf.set(pubkey, endpoint);
      return 'shared';
    }
    if (this.byEndpoint.size >= this.maxLinks) return 'full';
    this.byEndpoint.set(endpoint, { link: this.open(endpoint), pubkeys: new Set([pubkey]) });
    this.endpointOf.set(pubkey, endpoint);
    return 'linked';
  }

  /** Providers whose kept link is no longer connected move to the endpoint their newest record names. */
  followPending(): void {
    for (const [pubkey, endpoint] of [...this.pending]) {
      const current = this.byEndpoint.get(this.endpointOf.get(pubkey) ?? '')?.link;
      if (current && this.isConnected?.(current, pubkey)) continue;
      this.pending.delete(pubkey);
      this.follow(pubkey, endpoint);
    }
  }

  /** The provider left or lapsed: its link stops once no other provider names its endpoint. */
  forget(pubkey: string): void {
    this.pending.delete(pubkey);
    const endpoint = this.endpointOf.get(pubkey);
    if (endpoint === undefined) return;
    this.endpointOf.delete(pubkey);
    const entry = this.byEndpoint.get(endpoint);
    if (!entry) return;
    entry.pubkeys.delete(pubkey);
    if (entry.pubkeys.size > 0) return;
    this.byEndpoint.delete(endpoint);
    entry.link.stop();
  }

  stopAll(): void {
    for (const { link } of this.byEndpoint.values()) link.stop();
    this.byEndpoint.clear();
    this.endpointOf.clear();
    this.pending.clear();
  }
}
