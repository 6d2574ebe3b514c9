// The discovery part of docs/protocol.md, rendered from the record and gossip schemas like the job protocol.
import { z } from 'zod';
import {
  AGGREGATOR_RECORD_PROTOCOL,
  AGGREGATORS_KEY,
  AGGREGATORS_TOPIC,
  DHT_PROTOCOL,
  EVENT_KIND_AGGREGATOR_RECORD,
  MAX_AGGREGATOR_RECORD_BYTES,
  EVENT_KIND_PEER_BINDING,
  EVENT_KIND_PROVIDER_LEAVING,
  EVENT_KIND_PROVIDER_RECORD,
  HEARTBEAT_TOPIC,
  PROVIDERS_TOPIC,
  RECORD_PROTOCOL,
  REPUTATION_TOPIC,
} from './constants.js';
import { JOB_STREAM_PROTOCOL, LIBP2P_ENDPOINT_PREFIX } from '../nat/constants.js';
import { Heartbeat, ProvidersTopicMessage } from './gossip-messages.js';
import { ProviderRecord } from './provider-record.js';
import { AggregatorRecord, AggregatorsTopicMessage } from './aggregator-record.js';
import { STAGES_KEY } from './announce-keys.js';

const JOIN_AND_LEAVE = `
## Discovery: join and leave (libp2p)

- Transport: libp2p over TCP and WebSocket, noise, yamux, identify, ping. The Kademlia DHT speaks
  \`${DHT_PROTOCOL}\`, so it never mixes with the public IPFS DHT. A node's libp2p key is derived from its Nostr
  key; a kind-${EVENT_KIND_PEER_BINDING} event signed by the Nostr key names the peer id and carries the libp2p key's
  signature over \`infernet-peer-binding/1:<pubkey>:<peerId>\`, so neither key can be claimed by someone else.
- **Join**: dial the bootstrap peers; a provider signs its ProviderRecord (below) as a kind-${EVENT_KIND_PROVIDER_RECORD} event with a
  NIP-40 expiration, serves it on \`${RECORD_PROTOCOL}\`, publishes it on the gossip topic \`${PROVIDERS_TOPIC}\`, and
  provides DHT pointers under the CIDs of \`model:<name>\` and \`gpu:<class>\` (and \`${STAGES_KEY}\` when it offers RPC stages to
  heads, its \`stages\` field). The record is re-signed and re-published
  at half its lifetime; the pointers are re-provided within their validity.
- **Live status**: providers publish a Heartbeat (below) on \`${HEARTBEAT_TOPIC}\`; reputation events travel on
  \`${REPUTATION_TOPIC}\`. A provider not heard from within the heartbeat TTL, or whose record expired, or that fails a ping,
  is dropped from candidate lists.
- **Lookup**: an aggregator finds pointers in the DHT for a model, fetches each record from its provider, verifies it
  (signature, binding, expiry, peer id) and ranks the providers by fit, reputation, load, price and ping latency.
  A head splitting a model looks up \`${STAGES_KEY}\` the same way and ranks the stage offers open to it by reputation,
  latency and memory.
- **Leave**: a provider stops re-providing and publishes a signed kind-${EVENT_KIND_PROVIDER_LEAVING} leaving notice on
  \`${PROVIDERS_TOPIC}\`; nodes drop it at once and refuse its records issued before the notice.
- **Aggregators**: an aggregator signs an AggregatorRecord (below: WebSocket endpoint, fee, the models its providers
  serve now, load) as a kind-${EVENT_KIND_AGGREGATOR_RECORD} event, at most ${MAX_AGGREGATOR_RECORD_BYTES} bytes, serves it on
  \`${AGGREGATOR_RECORD_PROTOCOL}\` (re-signed whenever what it says changed), gossips it on \`${AGGREGATORS_TOPIC}\` (below)
  when re-signed, and provides a DHT pointer under the CID of \`${AGGREGATORS_KEY}\`.
  A client with no configured aggregator fetches the records of the DHT's pointers and of its connected peers,
  verifies them like provider records, pings each, and ranks them by reputation, round trip and fee.
- Forged, expired or malformed records and gossip are refused and logged; a peer sending more records or heartbeats
  than the flood limit is ignored for a while.
- **Behind NAT**: nodes with a public address may offer circuit relay v2 (per-peer limits on reservations and
  circuits, each circuit cut after a duration and a byte count; refusals logged). A node behind NAT reserves a slot
  on a relay, tries DCUtR to replace relayed connections by direct ones, and a provider with no public address
  announces \`endpoint: "${LIBP2P_ENDPOINT_PREFIX}<peer id>"\` with its relayed \`addresses\`. The job protocol then runs on
  \`${JOB_STREAM_PROTOCOL}\` streams over that connection: the same frames as on the WebSocket, each a 4-byte
  big-endian length and the frame's UTF-8 JSON; the record protocol answers on relayed connections too.
`;

function schemaBlock(schema: z.ZodType): string {
  return '```json\n' + JSON.stringify(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }), null, 2) + '\n```\n';
}

export function renderDiscoveryDoc(): string {
  return [
    JOIN_AND_LEAVE,
    `\n### ProviderRecord (content of the kind-${EVENT_KIND_PROVIDER_RECORD} event)\n\n${schemaBlock(ProviderRecord)}`,
    `\n### Messages on ${PROVIDERS_TOPIC}\n\n${schemaBlock(ProvidersTopicMessage)}`,
    `\n### Heartbeat (on ${HEARTBEAT_TOPIC})\n\n${schemaBlock(Heartbeat)}`,
    `\n### AggregatorRecord (content of the kind-${EVENT_KIND_AGGREGATOR_RECORD} event)\n\n${schemaBlock(AggregatorRecord)}`,
    `\n### Messages on ${AGGREGATORS_TOPIC}\n\n${schemaBlock(AggregatorsTopicMessage)}`,
  ].join('');
}
