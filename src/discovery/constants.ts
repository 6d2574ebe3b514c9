// Discovery's protocol identifiers, event kinds and limits, named once so every node agrees on them.
// The event kinds could move to protocol/version.ts beside the job kinds; they live here until then.

/** Our own Kademlia protocol, so the DHT never mixes with the public IPFS one. */
export const DHT_PROTOCOL = '/infernet/kad/1.0.0';
/** Request-response: open a stream, read the provider's current signed record, done. */
export const RECORD_PROTOCOL = '/infernet/record/1.0.0';

export const PROVIDERS_TOPIC = 'infernet/providers/1';
export const HEARTBEAT_TOPIC = 'infernet/heartbeat/1';
export const REPUTATION_TOPIC = 'infernet/reputation/1';

/** A provider's capability record: parameterized replaceable, one per provider key (d tag below). */
export const EVENT_KIND_PROVIDER_RECORD = 30950;
export const PROVIDER_RECORD_D_TAG = 'infernet/provider';
/** The Nostr key naming its libp2p peer id (and carrying the libp2p key's signature over the Nostr key). */
export const EVENT_KIND_PEER_BINDING = 30951;
export const PEER_BINDING_D_TAG = 'infernet/peer-binding';
/** Ephemeral: a provider withdrawing its records. */
export const EVENT_KIND_PROVIDER_LEAVING = 20950;

/** The version of the ProviderRecord schema; bumped on any incompatible change. */
export const PROVIDER_RECORD_VERSION = 1;

/** What a signed record may weigh on the wire; larger ones are refused unread. */
export const MAX_RECORD_BYTES = 64 * 1024;
/** Records valid for longer than this are refused: a stolen record must not live for days. */
export const MAX_RECORD_TTL_MS = 24 * 60 * 60 * 1000;
/** How far in the future a record's issuedAt may lie (clocks drift). */
export const MAX_CLOCK_SKEW_MS = 60_000;
/** A leaving message older than this is a replay and is ignored. */
export const MAX_LEAVING_AGE_MS = 5 * 60_000;

/** Defaults a daemon runs with; tests shorten them. */
export const DEFAULT_TIMINGS = {
  /** How long a signed record is valid; it is re-signed and re-announced at half of it. */
  recordTtlMs: 10 * 60_000,
  heartbeatIntervalMs: 10_000,
  /** A provider not heard from (heartbeat, record, ping) for this long is evicted. */
  heartbeatTtlMs: 35_000,
  /** How long a lookup may walk the DHT and fetch records. */
  lookupTimeoutMs: 10_000,
  provideTimeoutMs: 60_000,
  pingTimeoutMs: 3_000,
} as const;

/** Flood protection for gossip: per originating peer, records and heartbeats together. */
export const DEFAULT_FLOOD_LIMITS = {
  maxMessages: 30,
  intervalMs: 10_000,
  /** How long a flooding peer's messages are ignored. */
  banMs: 60_000,
} as const;

/** How many record fetches and pings a lookup runs at once. */
export const LOOKUP_CONCURRENCY = 8;

/** Aggregators announce themselves apart from providers: their own record kind, topic, record protocol and DHT key. */
export const AGGREGATOR_RECORD_PROTOCOL = '/infernet/aggregator-record/1.0.0';
export const AGGREGATORS_TOPIC = 'infernet/aggregators/1';
/** The one DHT key every aggregator is listed under (versioned with the record). */
export const AGGREGATORS_KEY = 'aggregators:v1';
/** An aggregator's record: parameterized replaceable, one per aggregator key (d tag below). */
export const EVENT_KIND_AGGREGATOR_RECORD = 30952;
export const AGGREGATOR_RECORD_D_TAG = 'infernet/aggregator';
/** The version of the AggregatorRecord schema; bumped on any incompatible change. */
export const AGGREGATOR_RECORD_VERSION = 1;
/** An aggregator's record is small (no hardware, model names only): anything larger is refused unread. */
export const MAX_AGGREGATOR_RECORD_BYTES = 32 * 1024;
