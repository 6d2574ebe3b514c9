// A distributed job whose RPC stage runs on a provider behind NAT, on real networks built inside the test (the
// topology of nat-traversal.test.ts): a public relay, the head behind one masquerading NAT, the stage provider
// behind the other, nothing port-forwarded. The stage provider's ws:// stage listener is on every interface (as on a
// home GPU), which the head cannot dial: the head finds the provider through discovery (its record's libp2p://
// endpoint says it is behind NAT, and its stage offer names that endpoint), opens the stage's tunnels as libp2p
// streams (/infernet/tunnel/2), and those run over the
// direct UDP (WebRTC) connection the head upgrades its relayed one to. Real llama-server and ggml-rpc-server.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { locateLlamaRpcBinaries } from '../../src/distributed/index.js';
import { sharedModelPath } from '../../src/models/shared-test-models.js';
import { assertCanBuildNamespaces, createNatTopology, type NatTopology } from '../../src/nat/testing/nat-topology.js';
import { infernetIn, NamespaceNodes, until, type NamespaceDaemon } from '../../src/nat/testing/namespace-daemons.js';

const model = sharedModelPath('stories260K.gguf');
const RELAY_PORT = 4001;
/** Each host has its own network namespace: the same port on every one of them. */
const STAGE_PORT = 7450;

interface DaemonState {
  peerId: string;
  npub: string;
  nat?: { reachability: string };
  providers?: Array<{ peerId: string; endpoint: string; stages?: { endpoint: string; openToAnyHead: boolean } }>;
}

describe('a distributed job with its stage on a provider behind NAT, over a direct UDP connection', () => {
  let net: NatTopology;
  let nodes: NamespaceNodes;
  let relayAddress: string;
  let head: NamespaceDaemon;
  let stage: NamespaceDaemon;
  const home = (name: string) => nodes.home(name);
  const state = (name: string) => nodes.state<DaemonState>(name);
  const logs = () => `${nodes.daemons.slice(1).map((daemon) => `${daemon.home}:\n${daemon.log().slice(-3000)}`).join('\n')}`;
  const start = (host: NatTopology['publicHosts'][number], name: string, initArgs: string[], patch: Record<string, unknown>) => nodes.start(host, name, initArgs, patch);

  /** A head behind the first NAT: it serves the model split over one stage it discovers, and runs no stage itself. */
  const headConfig = () => ({
    discovery: { listen: [`/ip4/${net.privateHosts[0]!.address}/tcp/0`], bootstrap: [relayAddress] },
    provider: { sandbox: 'none', contextSize: 512 },
    distributed: { models: [{ path: model, split: 'layer', workers: 'discover', stagesPerJob: 1, keepWarmSeconds: 0 }] },
  });
  /** Why each submit that did not complete failed, for the diagnostics. */
  const failedSubmits: string[] = [];
  /** Submits on `name` until a job completes, bounded; each submit that failed is kept for the diagnostics. */
  const submitUntilDone = async (name: string) => {
    let attempts = 0;
    let last = '';
    const result = await until(async () => {
      attempts++;
      const attempt = await infernetIn(net.privateHosts[0], ['submit', '--home', home(name), '--model', 'stories260K', '--prompt', 'Once upon a time', '--max-tokens', '16', '--json'], 120_000);
      last = attempt.stderr;
      if (attempt.code !== 0) failedSubmits.push(`${name}: ${(attempt.stdout + attempt.stderr).trim().split('\n').slice(-2).join(' / ').slice(0, 1500)}`);
      return attempt.code === 0 && attempt;
    }, 150_000, `a distributed job through ${name} to complete`).catch((error: Error) => {
      throw new Error(`${error.message}; last submit: ${last}\n${logs()}`);
    });
    const job = JSON.parse(result.stdout) as { status: string; tokens: number };
    assert.equal(job.status, 'completed');
    assert.equal(job.tokens, 16);
    return attempts;
  };
  /** The stage provider's 'stage opened' lines for stages opened by the head with this libp2p peer id. */
  const stagesOpenedFor = (peerId: string) => stage.log().split('\n').filter((line) => line.includes('stage opened') && line.includes(peerId));

  before(async () => {
    assertCanBuildNamespaces();
    locateLlamaRpcBinaries(); // fails here, with the set-up command, when llama.cpp is not built
    net = createNatTopology({ publicHosts: 1, privateNetworks: 2 });
    nodes = await NamespaceNodes.create('infernet-nat-stage-');
    const listen = `/ip4/${net.publicHosts[0]!.address}/tcp/${RELAY_PORT}`;
    await start(net.publicHosts[0]!, 'relay', ['--role', 'client'], { discovery: { listen: [listen], announce: [listen], nat: { relayServer: true, maxReservations: 8 } } });
    relayAddress = `${listen}/p2p/${(await state('relay')).peerId}`;
    [head, stage] = await Promise.all([
      start(net.privateHosts[0]!, 'head', ['--role', 'all', '--sandbox', 'none'], headConfig()),
      // The stage listener is on every interface, as a home GPU's would be: no ws:// URL to announce, and none the head could dial.
      start(net.privateHosts[1]!, 'stage', ['--role', 'provider', '--sandbox', 'none'], {
        discovery: { listen: [`/ip4/${net.privateHosts[1]!.address}/tcp/0`], bootstrap: [relayAddress] },
        provider: { sandbox: 'none' },
        distributed: { worker: { host: '0.0.0.0', port: STAGE_PORT, heads: 'any', sandbox: 'none', threads: 1, memoryMb: 1024 } },
      }),
    ]);
  }, { timeout: 120_000 });

  after(async () => {
    await nodes?.close();
    net?.remove();
  }, { timeout: 60_000 });

  it('the head learns the stage provider behind NAT by its libp2p endpoint, with its stage offer', async () => {
    const { peerId } = await until(async () => {
      const current = await state('stage');
      return (current.nat?.reachability === 'relayed' || current.nat?.reachability === 'direct-upgraded') && current;
    }, 45_000, 'the stage provider to hold a relay reservation').catch((error: Error) => {
      throw new Error(`${error.message}\n${logs()}`);
    });
    const known = await until(async () => (await state('head')).providers?.find((provider) => provider.endpoint === `libp2p://${peerId}` && provider.stages), 45_000, 'the head to learn the stage provider\'s libp2p endpoint and stage offer').catch((error: Error) => {
      throw new Error(`${error.message}\n${logs()}`);
    });
    // Behind NAT the offer names the libp2p endpoint, where heads open its stages.
    assert.equal(known.stages!.endpoint, `libp2p://${peerId}`);
  });

  it('runs a job split onto the stage over a direct UDP (WebRTC) connection through both NATs', { timeout: 180_000 }, async (t) => {
    const { peerId: headPeerId } = await state('head');
    const attempts = await submitUntilDone('head');
    // The head knows the stage (the test before): its first job runs.
    assert.equal(attempts, 1, `submits that failed first: ${failedSubmits.join(' || ')}`);
    // The stage opened on the provider behind NAT, its control tunnel from the head's peer id over direct UDP.
    const opened = stagesOpenedFor(headPeerId);
    t.diagnostic(`submits: ${attempts}; stage opened: ${opened.join(' | ').slice(0, 600)}`);
    assert.ok(opened.length >= 1, `no stage opened on the provider behind NAT\n${logs()}`);
    assert.ok(opened.every((line) => line.includes(`"remote":"direct-udp ${headPeerId}"`)), `the stage's tunnel did not run over direct UDP: ${opened.join('\n')}`);
    // Diagnostic only: the WebRTC connection may come from an earlier dial (discovery's), not the stage's upgrade.
    const headNat = (await state('head')).nat as { upgrades?: { tried: number; won: number } } | undefined;
    t.diagnostic(`head upgrades: ${JSON.stringify(headNat?.upgrades)}`);
  });

  it('with UDP dropped by both NATs, a new head\'s stage runs through the relay, and the provider says relayed', { timeout: 240_000 }, async (t) => {
    for (const gateway of net.gatewayNamespaces) {
      const drop = spawnSync('ip', ['netns', 'exec', gateway, 'iptables', '-I', 'FORWARD', '-p', 'udp', '-j', 'DROP'], { encoding: 'utf8' });
      assert.equal(drop.status, 0, drop.stderr);
    }
    // A new head (a new peer: no WebRTC connection from before the rule) behind the first NAT. The first head
    // stops, so the new one's jobs cannot be routed to it (it offers the same model) and run on its direct path.
    await head.stop();
    await start(net.privateHosts[0]!, 'head2', ['--role', 'all', '--sandbox', 'none'], headConfig());
    const attempts = await submitUntilDone('head2');
    // One of its first jobs runs through the relay (a new head's first lookups of the stage can run out of time
    // while libp2p's own dials to it wait on a WebRTC attempt), and no tunnel fails. Before, they failed for a minute
    // or more: each stream to the stage cost the relay a new circuit (libp2p never reuses a relayed connection) until
    // the relay's per-peer circuit limit refused them, WebRTC connections whose ICE never connected sat open as
    // "direct" and swallowed record fetches and pings (src/nat/peer-connections.ts), and every first dial of the
    // stage waited 6 s on its private address, unreachable from here (src/nat/dial-order.ts).
    assert.ok(attempts <= 3, `${attempts} submits; those that failed: ${failedSubmits.join(' || ')}`);
    assert.ok(!failedSubmits.some((failure) => failure.includes('tunnel')), failedSubmits.join(' || '));
    // Submitted as soon as its daemon.json names the job listener, before discovery has started: a job that comes
    // in then waits for discovery (a CI run failed three submits in a row with 'discovery has not started yet').
    assert.ok(!failedSubmits.some((failure) => failure.includes('discovery has not started')), failedSubmits.join(' || '));
    // Read after its job: daemon.json names the job listener before discovery has written the peer id.
    const { peerId } = await state('head2');
    const opened = stagesOpenedFor(peerId);
    t.diagnostic(`submits: ${attempts}; stage opened: ${opened.join(' | ').slice(0, 600)}`);
    t.diagnostic(`failed submits: ${failedSubmits.join(' || ')}`);
    assert.ok(opened.length >= 1, `no stage opened for the second head\n${logs()}`);
    assert.ok(opened.every((line) => line.includes(`"remote":"relayed ${peerId}"`)), `the stage's tunnel did not run through the relay: ${opened.join('\n')}`);
    // The head tried the UDP path, lost, and says so (daemon.json follows its connections, so it is polled).
    const upgradesOf = async () => ((await state('head2')).nat as { upgrades?: { tried: number; won: number } } | undefined)?.upgrades;
    const upgrades = await until(async () => {
      const current = await upgradesOf();
      return current && current.tried >= 1 && current;
    }, 10_000, 'the second head to count its WebRTC try').catch(async (error: Error) => {
      throw new Error(`${error.message}: ${JSON.stringify(await upgradesOf())}`);
    });
    t.diagnostic(`second head upgrades: ${JSON.stringify(upgrades)}`);
    assert.equal(upgrades.won, 0, JSON.stringify(upgrades));
    assert.match(nodes.daemons.at(-1)!.log(), /WebRTC upgrade failed: staying on the relay/);
  });
});
