// Threat model attack 13: a provider record names the addresses an aggregator dials. A record naming many
// addresses (a victim's ports, or ports that never answer) must cost a bounded number of dial attempts.
import assert from 'node:assert/strict';
import { createServer, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { validateNodeConfig } from '../config/index.js';
import { createDiscoveryNode, type DiscoveryNode } from '../discovery/index.js';
import { deriveLibp2pKey } from '../discovery/libp2p-key.js';
import { createPeerBinding } from '../discovery/peer-binding.js';
import { createProviderRecord, verifyProviderRecord, type ProviderRecordInput } from '../discovery/provider-record.js';
import { T4_MACHINE } from '../discovery/testing/fixtures.js';
import { MalformedRecordError } from '../discovery/errors.js';
import { generateNodeKey, signEnvelope, type NodeKey } from '../identity/index.js';
import { silentLogger } from '../log/index.js';
import { MAX_DIALLED_ADDRESSES_PER_PEER } from './constants.js';
import { dialJobSession } from './job-streams.js';

const SCHEMA_MAX_ADDRESSES = 32;

/** A loopback port that counts the connections made to it and drops each at once, so every dial fails. */
interface CountingPort {
  server: Server;
  port: number;
  connections: number;
}

async function countingPort(): Promise<CountingPort> {
  const counting: CountingPort = { server: createServer(), port: 0, connections: 0 };
  counting.server.on('connection', (socket: Socket) => {
    counting.connections++;
    socket.destroy();
  });
  await new Promise<void>((resolve) => counting.server.listen(0, '127.0.0.1', resolve));
  counting.port = (counting.server.address() as { port: number }).port;
  return counting;
}

async function signedRecordNaming(key: NodeKey, addressesOf: (peerId: string) => string[]) {
  const { privateKey, peerId } = await deriveLibp2pKey(key);
  const input: ProviderRecordInput = {
    hardware: T4_MACHINE,
    models: [{ name: 'stories260K', sizeBytes: 1_185_376 }],
    software: { infernet: '0.1.0' },
    protocolVersion: 1,
    endpoint: `libp2p://${peerId}`,
    addresses: addressesOf(peerId),
    load: { activeJobs: 0, slots: 1 },
  };
  return { peerId, ...createProviderRecord({ key, peerId, binding: await createPeerBinding(key, privateKey, peerId), input, ttlMs: 60_000 }) };
}

describe('dials made for the addresses a provider record names', () => {
  const limits = validateNodeConfig({}, 'test').limits;
  const ports: CountingPort[] = [];
  let aggregator: DiscoveryNode;

  before(async () => {
    for (let i = 0; i < 2 * SCHEMA_MAX_ADDRESSES; i++) ports.push(await countingPort());
    aggregator = await createDiscoveryNode({ key: generateNodeKey(), logger: silentLogger(), listen: ['/ip4/127.0.0.1/tcp/0'], allow: ['/ip4/127.0.0.1'] });
  });

  after(async () => {
    await aggregator?.stop();
    for (const { server } of ports) await new Promise((resolve) => server.close(resolve));
  });

  const attempts = () => ports.reduce((sum, port) => sum + port.connections, 0);

  it('refuses a signed record naming a thousand addresses', async () => {
    const key = generateNodeKey();
    const signed = await signedRecordNaming(key, (peerId) => [`/ip4/127.0.0.1/tcp/1/p2p/${peerId}`]);
    const addresses = Array.from({ length: 1000 }, (_, i) => `/ip4/127.0.0.1/tcp/${1024 + i}/p2p/${signed.peerId}`);
    const event = signEnvelope(key, { kind: signed.event.kind, tags: signed.event.tags, content: JSON.stringify({ ...signed.record, addresses }) }, signed.event.created_at);
    await assert.rejects(verifyProviderRecord(event), MalformedRecordError);
  });

  it('dials at most MAX_DIALLED_ADDRESSES_PER_PEER of a record naming the most addresses the schema allows, and as few again for its next record', async () => {
    const key = generateNodeKey();
    const identity = { key: generateNodeKey(), role: 'aggregator' as const, agent: 'test' };
    for (const batch of [ports.slice(0, SCHEMA_MAX_ADDRESSES), ports.slice(SCHEMA_MAX_ADDRESSES)]) {
      const signed = await signedRecordNaming(key, (peerId) => batch.map(({ port }) => `/ip4/127.0.0.1/tcp/${port}/p2p/${peerId}`));
      const { record } = await verifyProviderRecord(signed.event);
      assert.equal(record.addresses?.length, SCHEMA_MAX_ADDRESSES);
      const before = attempts();
      await assert.rejects(dialJobSession(aggregator.libp2p, signed.peerId, record.addresses ?? [], { identity, limits, logger: silentLogger(), timeoutMs: 20_000 }));
      const made = attempts() - before;
      assert.ok(made >= 1, 'the dial tried the record at all');
      assert.ok(made <= MAX_DIALLED_ADDRESSES_PER_PEER, `${made} dial attempts for one record, more than ${MAX_DIALLED_ADDRESSES_PER_PEER}`);
    }
  });
});
