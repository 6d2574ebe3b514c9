import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { validateNodeConfig } from '../config/index.js';
import type { CreateDiscoveryNodeOptions, DiscoveryNode } from '../discovery/index.js';
import { LoopbackNodes } from '../discovery/testing/loopback-nodes.js';
import { capturingLogger, waitFor } from '../discovery/testing/fixtures.js';
import { generateNodeKey } from '../identity/index.js';
import { silentLogger } from '../log/index.js';
import type { PeerSession } from '../transport/index.js';
import { chooseJobEndpoint, classifyReachability, dialJobSession, publicAddressesOf, RelayPolicy, relaysOf, remoteAddressOf, serveJobStreams } from './index.js';

const RELAY = '12D3KooWRelay1111111111111111111111111111111111111111';
const SELF = '12D3KooWSelf11111111111111111111111111111111111111111';
const CIRCUIT = `/ip4/11.200.0.10/tcp/4001/p2p/${RELAY}/p2p-circuit/p2p/${SELF}`;
const LIMITS = { maxReservations: 2, reservationsPerPeerPerMinute: 3, circuitsPerPeerPerMinute: 2, circuitDurationS: 60, circuitBytes: 1 << 20 };

describe('relay limits', () => {
  it('refuses a new peer once the relay holds its maximum of reservations, but lets a holder refresh', () => {
    const policy = new RelayPolicy(LIMITS);
    assert.deepEqual(policy.admitReservation('a', false, 2, 0), { allow: false, reason: 'relay_full', detail: 'the relay holds 2 reservations, its limit' });
    assert.deepEqual(policy.admitReservation('b', true, 2, 0), { allow: true });
    assert.equal(policy.refusals, 1);
  });

  it('refuses a peer asking for reservations or circuits faster than its per-minute share, until the minute passes', () => {
    const policy = new RelayPolicy(LIMITS);
    for (let i = 0; i < 3; i++) assert.equal(policy.admitReservation('a', true, 1, i * 1000).allow, true);
    assert.equal(policy.admitReservation('a', true, 1, 4000).allow, false);
    assert.equal(policy.admitReservation('other', false, 1, 4000).allow, true, 'another peer keeps its own share');
    assert.equal(policy.admitReservation('a', true, 1, 61_000).allow, true, 'the window slides');
    assert.equal(policy.admitCircuit('a', 0).allow, true);
    assert.equal(policy.admitCircuit('a', 1).allow, true);
    assert.deepEqual(policy.admitCircuit('a', 2), { allow: false, reason: 'circuit_rate', detail: 'more than 2 relayed connections a minute' });
  });
});

describe('reachability and the announced job endpoint', () => {
  const none = { direct: 0, relayed: 0, upgraded: 0 };
  it('classifies public, direct-upgraded, relayed and private nodes', () => {
    assert.equal(classifyReachability({ addresses: ['/ip4/11.200.0.10/tcp/4001', '/ip4/127.0.0.1/tcp/1'], connections: none }), 'public');
    assert.equal(classifyReachability({ addresses: [CIRCUIT, '/ip4/10.0.0.2/tcp/1'], connections: { ...none, upgraded: 1 } }), 'direct-upgraded');
    assert.equal(classifyReachability({ addresses: [CIRCUIT, '/ip4/10.0.0.2/tcp/1'], connections: none }), 'relayed');
    assert.equal(classifyReachability({ addresses: ['/ip4/192.168.1.5/tcp/1', '/ip4/127.0.0.1/tcp/1'], connections: none }), 'private');
    assert.deepEqual(publicAddressesOf([CIRCUIT, '/ip4/100.64.0.1/tcp/1', '/ip4/8.8.8.8/tcp/1']), ['/ip4/8.8.8.8/tcp/1']);
    assert.deepEqual(relaysOf([CIRCUIT, '/ip4/10.0.0.2/tcp/1']), [{ peerId: RELAY, addresses: [CIRCUIT] }]);
  });

  it('announces libp2p://<peer id> with relayed addresses first behind NAT, and the WebSocket URL otherwise', () => {
    const ws = 'ws://10.0.0.2:7420';
    const behindNat = ['/ip4/10.0.0.2/tcp/1', CIRCUIT];
    assert.deepEqual(chooseJobEndpoint({ mode: 'auto', wsEndpoint: ws, peerId: SELF, addresses: behindNat }), { endpoint: `libp2p://${SELF}`, addresses: [CIRCUIT, '/ip4/10.0.0.2/tcp/1'] });
    assert.deepEqual(chooseJobEndpoint({ mode: 'auto', wsEndpoint: ws, peerId: SELF, addresses: ['/ip4/10.0.0.2/tcp/1'] }), { endpoint: ws }, 'no relay yet: the LAN endpoint');
    assert.deepEqual(chooseJobEndpoint({ mode: 'auto', wsEndpoint: ws, peerId: SELF, addresses: [...behindNat, '/ip4/11.200.0.3/tcp/1'] }), { endpoint: ws }, 'a public address');
    assert.deepEqual(chooseJobEndpoint({ mode: 'public', wsEndpoint: ws, peerId: SELF, addresses: behindNat }), { endpoint: ws });
    assert.equal(chooseJobEndpoint({ mode: 'private', wsEndpoint: ws, peerId: SELF, addresses: ['/ip4/10.0.0.2/tcp/1'] }).endpoint, `libp2p://${SELF}`);
  });
});

describe('job sessions through a circuit relay on loopback (real libp2p nodes)', () => {
  const limits = validateNodeConfig({}, 'test').limits;
  const relayLog = capturingLogger('warn');
  const nodes = new LoopbackNodes();
  let relay: DiscoveryNode;
  let provider: DiscoveryNode;
  const start = (options: Partial<CreateDiscoveryNodeOptions>) => nodes.start(options);

  before(async () => {
    relay = await start({ logger: relayLog.logger, nat: { relayServer: { ...LIMITS, maxReservations: 1 }, autoNat: false, holePunch: false } });
    provider = await start({ bootstrap: relay.multiaddrs(), nat: { autoNat: false, holePunch: false, relayClient: true } });
    await provider.connectBootstrap();
  });

  after(async () => {
    await nodes.stop();
  });

  it('reserves a slot on the relay and carries a job session over the relayed connection', async () => {
    const relayed = await waitFor(() => provider.multiaddrs().find((address) => address.includes('/p2p-circuit')), { timeoutMs: 15_000, what: 'a relay reservation' });
    const providerKey = generateNodeKey();
    const received: string[] = [];
    let serverSide: PeerSession | undefined;
    await serveJobStreams(provider.libp2p, {
      identity: { key: providerKey, role: 'aggregator', agent: 'test' },
      limits,
      logger: silentLogger(),
      onSession: (session) => {
        serverSide = session;
        session.onFrame((frame) => received.push(frame.type));
      },
    });
    // A third node that knows only the relayed address: it has no other way in.
    const client = await start({ nat: { autoNat: false, relayClient: false, holePunch: false } });
    const session = await dialJobSession(client.libp2p, provider.peerId, [relayed], { identity: { key: generateNodeKey(), role: 'client', agent: 'test' }, limits, logger: silentLogger() });
    assert.equal(session.peer?.pubkey, providerKey.publicKey);
    // The dial went through the relay; on loopback the DHT may open a direct connection beside it, which the session
    // then prefers (as it would a hole-punched one), so the path is checked on the connections, not the session.
    const paths = client.libp2p.getConnections().filter((connection) => connection.remotePeer.toString() === provider.peerId).map(remoteAddressOf);
    assert.ok(paths.some((path) => path.startsWith(`${relayed.split('/p2p-circuit')[0]}/p2p-circuit/p2p/${provider.peerId}`)), `a relayed connection among ${paths.join(', ')}`);
    session.send({ type: 'models.request' });
    await waitFor(() => received.includes('models.request'), { timeoutMs: 5_000, what: 'the frame to reach the provider' });
    assert.equal(serverSide?.peer?.role, 'client');
    session.close();
  });

  it('refuses, and logs, a reservation beyond the relay\'s limit', async () => {
    const second = await start({ bootstrap: relay.multiaddrs(), nat: { autoNat: false, holePunch: false, relayClient: true } });
    await second.connectBootstrap();
    const refusal = await waitFor(() => relayLog.lines.find((line) => line.msg === 'relay reservation refused'), { timeoutMs: 15_000, what: 'the refusal in the relay log' });
    assert.equal(refusal.peer, second.peerId);
    assert.equal(refusal.reason, 'relay_full');
    assert.ok(!second.multiaddrs().some((address) => address.includes('/p2p-circuit')));
  });
});
