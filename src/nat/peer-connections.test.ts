import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { peerIdFromString } from '@libp2p/peer-id';
import type { CreateDiscoveryNodeOptions, DiscoveryNode } from '../discovery/index.js';
import { LoopbackNodes } from '../discovery/testing/loopback-nodes.js';
import { capturingLogger, waitFor } from '../discovery/testing/fixtures.js';
import { silentLogger } from '../log/index.js';
import { openStreamToPeer, pingPeer } from './index.js';

const ECHO_PROTOCOL = '/infernet-test/echo/1.0.0';
/** Few circuits a minute per peer, so that a node spending one per stream runs out within the test. */
const LIMITS = { maxReservations: 4, reservationsPerPeerPerMinute: 10, circuitsPerPeerPerMinute: 3, circuitDurationS: 60, circuitBytes: 1 << 20 };

// Real libp2p nodes on loopback: a relay, providers that listen on nothing of their own (as behind a NAT: the relay's
// reservation is their only way in) and a client that knows them only by their relayed addresses.
describe('streams to a peer behind a relay ride one relayed connection, and the relay counts only circuits it can carry (real libp2p nodes on loopback)', () => {
  const relayLog = capturingLogger('warn');
  const nodes = new LoopbackNodes();
  let relay: DiscoveryNode;
  let client: DiscoveryNode;
  const start = (options: Partial<CreateDiscoveryNodeOptions>) => nodes.start(options);
  /** A provider behind the relay answering the echo protocol; resolves with its relayed address. */
  const providerBehindRelay = async () => {
    const provider = await start({ listen: [], bootstrap: relay.multiaddrs(), nat: { autoNat: false, holePunch: false, relayClient: true } });
    await provider.connectBootstrap();
    const relayed = await waitFor(() => provider.multiaddrs().find((address) => address.includes('/p2p-circuit')), { timeoutMs: 15_000, what: 'a relay reservation' });
    await provider.libp2p.handle(ECHO_PROTOCOL, (stream) => stream.addEventListener('message', (event) => stream.send(event.data)), { runOnLimitedConnection: true });
    return { provider, relayed };
  };
  const refusals = () => relayLog.lines.filter((line) => line.msg === 'relayed connection refused');

  before(async () => {
    relay = await start({ logger: relayLog.logger, nat: { relayServer: LIMITS, autoNat: false, holePunch: false } });
    client = await start({ listen: [], nat: { autoNat: false, relayClient: false, holePunch: false } });
  });

  after(async () => {
    await nodes.stop();
  });

  it('opens eight streams and pings three times over one relayed connection, within a relay that allows three circuits a minute', async () => {
    const { provider, relayed } = await providerBehindRelay();
    for (let stream = 0; stream < 8; stream++) {
      const opened = await openStreamToPeer(client.libp2p, provider.peerId, [relayed], ECHO_PROTOCOL, { timeoutMs: 10_000, logger: silentLogger() });
      await opened.stream.close();
    }
    for (let ping = 0; ping < 3; ping++) {
      const rtt = await pingPeer(client.libp2p, peerIdFromString(provider.peerId), { signal: AbortSignal.timeout(5_000) });
      assert.ok(rtt >= 0 && rtt < 5_000, `round trip ${rtt} ms`);
    }
    assert.deepEqual(refusals(), []);
    const connections = client.libp2p.getConnections(peerIdFromString(provider.peerId)).filter((connection) => connection.status === 'open');
    assert.equal(connections.length, 1, connections.map((connection) => connection.remoteAddr.toString()).join(', '));
  });

  it('does not count a client\'s dials to a peer that left the relay against the circuits it may open to one that is there', async () => {
    const gone = await providerBehindRelay();
    await gone.provider.stop();
    // The relay keeps the reservation of a peer that left until it expires, and refuses circuits to it.
    for (let dial = 0; dial < LIMITS.circuitsPerPeerPerMinute + 1; dial++) {
      await assert.rejects(openStreamToPeer(client.libp2p, gone.provider.peerId, [gone.relayed], ECHO_PROTOCOL, { timeoutMs: 5_000, logger: silentLogger() }));
    }
    const { provider, relayed } = await providerBehindRelay();
    const opened = await openStreamToPeer(client.libp2p, provider.peerId, [relayed], ECHO_PROTOCOL, { timeoutMs: 10_000, logger: silentLogger() });
    await opened.stream.close();
    assert.deepEqual(refusals(), []);
  });
});
