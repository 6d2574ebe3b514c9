// Providers behind NAT, on real networks built inside the test: a public network with two relays (both also
// bootstrap nodes), and two private networks behind masquerading gateways that drop everything unsolicited. The
// aggregator and the client sit behind one NAT, the provider behind the other, and no port is forwarded. The
// aggregator's job session comes up through a relay and the aggregator tries to upgrade it to WebRTC: a direct UDP
// connection through both NATs, their public mappings learned from the relays' STUN servers. Then the relay in use
// is killed and the other takes over.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { sharedModelPath } from '../../src/models/shared-test-models.js';
import type { NatStatus } from '../../src/nat/index.js';
import { assertCanBuildNamespaces, createNatTopology, type NatTopology } from '../../src/nat/testing/nat-topology.js';
import { infernetIn, infernetJson, NamespaceNodes, until, type NamespaceDaemon } from '../../src/nat/testing/namespace-daemons.js';

const model = sharedModelPath('stories260K.gguf');
const RELAY_PORT = 4001;
/** Prints whether a TCP connection to argv host:port opens within two seconds. */
const TCP_PROBE = `const s = require('net').connect(+process.argv[2], process.argv[1]); const t = setTimeout(() => { console.log('unreachable'); process.exit(0); }, 1500); s.on('connect', () => { console.log('connected'); process.exit(0); }); s.on('error', () => { console.log('unreachable'); process.exit(0); });`;

interface Status {
  peerId: string;
  multiaddrs: string[];
  reachability: NatStatus['reachability'] | null;
  relays: NatStatus['relays'];
  npub: string;
  nat: NatStatus | null;
  daemon: { running: boolean; peers?: Array<{ role: string; npub: string; remote: string; path: 'direct-udp' | 'direct-tcp' | 'relayed' }> };
}

describe('a job reaches a provider behind NAT with no port forwarded', () => {
  let net: NatTopology;
  let nodes: NamespaceNodes;
  const relays: Array<{ daemon: NamespaceDaemon; peerId: string; multiaddr: string }> = [];
  let provider: NamespaceDaemon;
  let aggregator: NamespaceDaemon & { npub?: string };
  const home = (name: string) => nodes.home(name);

  const start = async (hostIndex: { public?: number; private?: number }, name: string, initArgs: string[], patch: Record<string, unknown>) =>
    nodes.start(hostIndex.public !== undefined ? net.publicHosts[hostIndex.public]! : net.privateHosts[hostIndex.private!]!, name, initArgs, patch);
  const status = (name: string) => infernetJson<Status>(undefined, ['status', '--home', home(name)]);
  /** daemon.json, which `status` reads: polled directly, so waiting costs no CLI start per poll. */
  const state = (name: string) => nodes.state<{ peerId: string; npub: string; nat?: NatStatus; peers: Array<{ role: string; npub: string; remote: string }>; providers?: Array<{ endpoint: string }> }>(name);
  const submit = (prompt: string) => infernetIn(net.privateHosts[0], ['submit', '--home', home('client'), '--model', 'stories260K', '--prompt', prompt, '--max-tokens', '16', '--json'], 90_000);
  /** The path of the aggregator's job session as the provider sees it: through a relay, or direct (hole-punched). */
  const providerPath = async () => {
    const { peers } = await state('provider');
    const session = peers.find((peer) => peer.role === 'aggregator' && peer.npub === aggregator.npub);
    if (!session) return undefined;
    const relay = session.remote.includes('/webrtc') ? undefined : session.remote.match(/\/p2p\/(\w+)\/p2p-circuit/)?.[1];
    return { remote: session.remote, path: relay ? ('relayed' as const) : ('direct' as const), relay };
  };
  /** The path `infernet status --json` names for the provider's session with the aggregator. */
  const statusPath = async () => (await status('provider')).daemon.peers?.find((peer) => peer.role === 'aggregator' && peer.npub === aggregator.npub)?.path;

  before(async () => {
    assertCanBuildNamespaces();
    net = createNatTopology({ publicHosts: 2, privateNetworks: 2 });
    nodes = await NamespaceNodes.create('infernet-nat-');
    await Promise.all(
      [0, 1].map(async (index) => {
        const address = net.publicHosts[index]!.address;
        const listen = `/ip4/${address}/tcp/${RELAY_PORT}`;
        // A node with a public address says so (announce) and offers relay service, with tight limits.
        // Client role: the relay runs discovery and relays, and takes no part in jobs.
        const daemon = await start({ public: index }, `relay${index}`, ['--role', 'client'], {
          discovery: { listen: [listen], announce: [listen], nat: { relayServer: true, maxReservations: 8 } },
        });
        const { peerId } = await state(`relay${index}`);
        relays[index] = { daemon, peerId, multiaddr: `${listen}/p2p/${peerId}` };
      }),
    );
    const bootstrap = relays.map((relay) => relay.multiaddr);
    const privateNode = (index: number) => ({ discovery: { listen: [`/ip4/${net.privateHosts[index]!.address}/tcp/0`], bootstrap } });
    [aggregator, provider] = await Promise.all([
      start({ private: 0 }, 'aggregator', ['--role', 'aggregator'], privateNode(0)),
      start({ private: 1 }, 'provider', ['--role', 'provider', '--model', model, '--sandbox', 'none'], privateNode(1)),
    ]);
    aggregator.npub = (await state('aggregator')).npub;
    const init = await infernetIn(undefined, ['init', '--home', home('client'), '--role', 'client', '--connect', aggregator.url]);
    assert.equal(init.code, 0, init.stderr);
  }, { timeout: 120_000 });

  after(async () => {
    await nodes?.close();
    net?.remove();
  }, { timeout: 60_000 });

  it('cannot dial the provider directly: the NAT drops what the inside did not start', async () => {
    // daemon.json names the libp2p addresses once discovery has started.
    const direct = await until(async () => {
      const { multiaddrs } = (await state('provider')) as unknown as { multiaddrs?: string[] };
      return multiaddrs?.find((address) => address.startsWith(`/ip4/${net.privateHosts[1]!.address}/tcp/`));
    }, 30_000, 'the provider\'s libp2p address in daemon.json');
    const port = direct.split('/')[4];
    // From the public network, neither the private address nor the gateway's own accepts a TCP connection.
    for (const target of [net.privateHosts[1]!.address, net.gatewayAddresses[1]!]) {
      const probe = spawnSync('ip', ['netns', 'exec', net.publicHosts[0]!.namespace, process.execPath, '-e', TCP_PROBE, target, port!], { encoding: 'utf8', timeout: 10_000 });
      assert.equal(probe.stdout.trim(), 'unreachable', `${target}:${port} from the public network: ${probe.stdout}${probe.stderr}`);
    }
    const inside = spawnSync('ip', ['netns', 'exec', net.privateHosts[1]!.namespace, process.execPath, '-e', TCP_PROBE, net.privateHosts[1]!.address, port!], { encoding: 'utf8', timeout: 10_000 });
    assert.equal(inside.stdout.trim(), 'connected', 'the probe itself works: the port answers inside the private network');
  });

  it('announces the provider as relayed, through one of the relays, with a libp2p endpoint', async () => {
    // Relayed, or direct-upgraded once the aggregator's session to it went over WebRTC: either way through a relay's reservation.
    const reservedOrUpgraded = (reachability: string | undefined | null) => reachability === 'relayed' || reachability === 'direct-upgraded';
    await until(async () => reservedOrUpgraded((await state('provider')).nat?.reachability), 30_000, 'the provider to hold a relay reservation');
    // Then through the command whose contract this is.
    const providerStatus = await status('provider');
    assert.ok(reservedOrUpgraded(providerStatus.reachability), `reachability ${providerStatus.reachability}`);
    assert.ok(relays.some((relay) => relay.peerId === providerStatus.relays[0]!.peerId));
    const relayStatus = await status('relay0');
    assert.equal(relayStatus.reachability, 'public');
    await until(async () => (await state('aggregator')).providers?.some((entry) => entry.endpoint === `libp2p://${providerStatus.peerId}`), 30_000, 'the aggregator to learn the provider\'s libp2p endpoint');
  });

  it('runs a job from the client behind one NAT on the provider behind the other over a direct UDP (WebRTC) connection, and status says direct-udp', async (t) => {
    // The aggregator dials the endpoint it learned through the relay; a job sent before that session is up would
    // only test the dial's timing.
    const { npub: providerNpub } = await state('provider');
    await until(async () => (await state('aggregator')).peers.some((peer) => peer.role === 'provider' && peer.npub === providerNpub), 45_000, 'the aggregator\'s job session to the provider').catch((error: Error) => {
      throw new Error(`${error.message}\naggregator:\n${aggregator.log().slice(-4000)}\nprovider:\n${provider.log().slice(-2000)}`);
    });
    const result = await submit('Once upon a time');
    assert.equal(result.code, 0, `${result.stderr}\naggregator:\n${aggregator.log().slice(-3000)}\nprovider:\n${provider.log().slice(-3000)}`);
    const job = JSON.parse(result.stdout) as { status: string; tokens: number; output: string };
    assert.equal(job.status, 'completed');
    assert.equal(job.tokens, 16);
    const path = await until(providerPath, 10_000, 'the provider to list the aggregator session');
    const aggregatorNat = (await state('aggregator')).nat;
    t.diagnostic(`job path: ${path.path} (${path.remote}); aggregator upgrades ${JSON.stringify(aggregatorNat?.upgrades)}`);
    // Both NATs masquerade without dropping outbound UDP: ICE, with the relays' STUN, punches through them.
    assert.equal(path.path, 'direct', `the job session still runs through a relay: ${path.remote}; aggregator upgrades ${JSON.stringify(aggregatorNat?.upgrades)}`);
    assert.ok(path.remote.includes('/webrtc'), path.remote);
    assert.equal(await statusPath(), 'direct-udp');
    assert.ok((aggregatorNat?.upgrades.won ?? 0) >= 1, 'the aggregator counts the upgrade it won');
  });

  it('replaces a relay killed mid-session with the other one, and jobs go on', { timeout: 120_000 }, async (t) => {
    const before = await status('provider');
    const used = relays.find((relay) => relay.peerId === before.relays[0]!.peerId)!;
    const spare = relays.find((relay) => relay !== used)!;
    await used.daemon.kill();
    await until(async () => {
      const relaysNow = (await state('provider')).nat?.relays ?? [];
      return relaysNow.some((relay) => relay.peerId === spare.peerId) && !relaysNow.some((relay) => relay.peerId === used.peerId);
    }, 45_000, 'the provider to reserve on the remaining relay');
    const after = await status('provider');
    // direct-upgraded while the WebRTC connection to the aggregator lives: that also holds a relay reservation.
    assert.ok(after.reachability === 'relayed' || after.reachability === 'direct-upgraded', `reachability ${after.reachability}`);
    assert.deepEqual(after.relays.map((relay) => relay.peerId), [spare.peerId]);
    let last = '';
    const result = await until(async () => {
      const attempt = await submit('The little dog');
      last = attempt.stderr;
      return attempt.code === 0 && attempt;
    }, 60_000, 'a job to complete through the remaining relay').catch((error: Error) => {
      throw new Error(`${error.message}; last submit: ${last}\naggregator:\n${aggregator.log().slice(-4000)}\nprovider:\n${provider.log().slice(-3000)}`);
    });
    const job = JSON.parse(result.stdout) as { status: string; tokens: number };
    assert.equal(job.status, 'completed');
    const path = await until(async () => {
      const current = await providerPath();
      return current && current.relay !== used.peerId && current;
    }, 10_000, 'the aggregator session to avoid the dead relay');
    t.diagnostic(`after the relay died: ${path.path} (${path.remote})`);
    if (path.path === 'relayed') assert.equal(path.relay, spare.peerId);
  });

  it('with UDP dropped by both NATs, a new aggregator\'s upgrade fails and its jobs run through the relay, and status says relayed', { timeout: 180_000 }, async (t) => {
    for (const gateway of net.gatewayNamespaces) {
      const drop = spawnSync('ip', ['netns', 'exec', gateway, 'iptables', '-I', 'FORWARD', '-p', 'udp', '-j', 'DROP'], { encoding: 'utf8' });
      assert.equal(drop.status, 0, drop.stderr);
    }
    // A new aggregator (a new peer, so no WebRTC connection from before the rule exists) behind the first NAT.
    const second = await start({ private: 0 }, 'aggregator2', ['--role', 'aggregator'], { discovery: { listen: [`/ip4/${net.privateHosts[0]!.address}/tcp/0`], bootstrap: relays.filter((relay) => relay.daemon.process.exitCode === null && relay.daemon.process.signalCode === null).map((relay) => relay.multiaddr) } });
    const { npub: secondNpub } = await state('aggregator2');
    const init = await infernetIn(undefined, ['init', '--home', home('client2'), '--role', 'client', '--connect', second.url]);
    assert.equal(init.code, 0, init.stderr);
    // Its first job makes it look the model up in the DHT (it joined after the provider's announcement was gossiped),
    // which links it to the provider: it may fail with no_provider until then.
    let last = '';
    const result = await until(async () => {
      const attempt = await infernetIn(net.privateHosts[0], ['submit', '--home', home('client2'), '--model', 'stories260K', '--prompt', 'The cat', '--max-tokens', '16', '--json'], 90_000);
      last = attempt.stderr;
      return attempt.code === 0 && attempt;
    }, 120_000, 'a job through the second aggregator').catch((error: Error) => {
      throw new Error(`${error.message}; last submit: ${last}\naggregator2:\n${second.log().slice(-4000)}`);
    });
    assert.equal((JSON.parse(result.stdout) as { status: string }).status, 'completed');
    const upgrades = (await state('aggregator2')).nat?.upgrades;
    t.diagnostic(`second aggregator upgrades ${JSON.stringify(upgrades)}`);
    assert.ok((upgrades?.tried ?? 0) >= 1 && upgrades?.won === 0, JSON.stringify(upgrades));
    const session = (await status('provider')).daemon.peers?.find((peer) => peer.role === 'aggregator' && peer.npub === secondNpub);
    assert.equal(session?.path, 'relayed', JSON.stringify(session));
    assert.ok(relays.some((relay) => session!.remote.includes(`/p2p/${relay.peerId}/p2p-circuit`)), session!.remote);
  });
});
