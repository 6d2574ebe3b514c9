// Job round trip and tokens/s over the paths a job can take to a provider behind NAT, from one run on networks
// built in namespaces (needs root): LAN (an aggregator on the provider's own LAN, WebSocket), relayed (an aggregator
// behind another NAT with WebRTC off: through a circuit relay on the public network), direct UDP (an aggregator
// behind that same NAT with WebRTC on: the relayed connection upgraded to WebRTC, punched through both NATs) and
// public (an aggregator with a public address: relayed, then upgraded). The same provider serves all four; rounds
// alternate between paths so load drifts hit each alike.
//   node_modules/.bin/node dist/bench/nat-paths.js [rounds=5] [tokens=64]
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { reportFigure } from './summary/bench-figure.js';
import { sharedModelPath } from '../src/models/shared-test-models.js';
import type { NatStatus } from '../src/nat/index.js';
import { assertCanBuildNamespaces, createNatTopology, type TopologyHost } from '../src/nat/testing/nat-topology.js';
import { infernetIn, infernetJson, patchConfig, startDaemonIn, until, type NamespaceDaemon } from '../src/nat/testing/namespace-daemons.js';

const rounds = Number(process.argv[2] ?? 5);
const maxTokens = Number(process.argv[3] ?? 64);
const RELAY_PORT = 4001;
const AGG_PORT = 4002;

assertCanBuildNamespaces();
const net = createNatTopology({ publicHosts: 2, privateNetworks: 2 });
const dir = await mkdtemp(join(tmpdir(), 'infernet-nat-bench-'));
const daemons: NamespaceDaemon[] = [];
const home = (name: string) => join(dir, name);
const start = async (host: TopologyHost, name: string, init: string[], patch: Record<string, unknown>): Promise<NamespaceDaemon> => {
  const result = await infernetIn(undefined, ['init', '--home', home(name), '--host', host.address, '--port', '0', ...init]);
  if (result.code !== 0) throw new Error(result.stderr);
  await patchConfig(home(name), { storage: { backend: 'file' }, ...patch });
  const daemon = await startDaemonIn(host, home(name));
  daemons.push(daemon);
  return daemon;
};
const status = (name: string) => infernetJson<{ peerId: string; reachability: NatStatus['reachability'] | null }>(undefined, ['status', '--home', home(name)]);

try {
  const [relayHost, publicHost] = net.publicHosts as [TopologyHost, TopologyHost];
  const [natA, natB] = net.privateHosts as [TopologyHost, TopologyHost];
  const relayListen = `/ip4/${relayHost.address}/tcp/${RELAY_PORT}`;
  await start(relayHost, 'relay', ['--role', 'client', '--discovery'], { discovery: { listen: [relayListen], announce: [relayListen], nat: { relayServer: true } } });
  const bootstrap = [`${relayListen}/p2p/${(await status('relay')).peerId}`];
  const publicListen = `/ip4/${publicHost.address}/tcp/${AGG_PORT}`;
  const upgraded = await start(publicHost, 'agg-public', ['--role', 'aggregator', '--discovery'], { discovery: { listen: [publicListen], announce: [publicListen], bootstrap } });
  const relayed = await start(natA, 'agg-nat', ['--role', 'aggregator', '--discovery'], { discovery: { listen: [`/ip4/${natA.address}/tcp/0`], bootstrap, nat: { webrtc: false } } });
  const directUdp = await start(natA, 'agg-nat-udp', ['--role', 'aggregator', '--discovery'], { discovery: { listen: [`/ip4/${natA.address}/tcp/0`], bootstrap } });
  const provider = await start(natB, 'provider', ['--role', 'provider', '--discovery', '--model', sharedModelPath('stories260K.gguf'), '--sandbox', 'none'], {
    discovery: { listen: [`/ip4/${natB.address}/tcp/0`], bootstrap },
  });
  // The direct path: an aggregator on the provider's LAN, given its WebSocket URL.
  const direct = await start(natB, 'agg-lan', ['--role', 'aggregator', '--connect', provider.url], {});
  await until(async () => (await status('provider')).reachability === 'relayed', 60_000, 'the provider to hold a relay reservation');

  const paths = [
    { name: 'direct (LAN, WebSocket)', aggregator: direct, client: natB },
    { name: 'relayed (NAT to NAT, circuit relay)', aggregator: relayed, client: natA },
    { name: 'direct UDP (NAT to NAT, WebRTC)', aggregator: directUdp, client: natA },
    { name: 'public aggregator (relay, then upgraded)', aggregator: upgraded, client: publicHost },
  ];
  for (const [i, path] of paths.entries()) {
    const init = await infernetIn(undefined, ['init', '--home', home(`client${i}`), '--role', 'client', '--connect', path.aggregator.url]);
    if (init.code !== 0) throw new Error(init.stderr);
  }
  const samples = paths.map(() => ({ totalMs: [] as number[], tokensPerS: [] as number[] }));
  const submit = async (i: number) => {
    const path = paths[i]!;
    const result = await infernetJson<{ tokens: number; timings: { firstTokenMs: number; totalMs: number } }>(path.client, ['submit', '--home', home(`client${i}`), '--model', 'stories260K', '--prompt', 'Once upon a time', '--max-tokens', String(maxTokens)], 120_000);
    return result;
  };
  // Warm-up: the first job on each path links aggregator and provider (and, for two of them, finds it first).
  for (const i of paths.keys()) await until(async () => submit(i).catch(() => undefined), 90_000, `a first job over ${paths[i]!.name}`);
  for (let round = 0; round < rounds; round++) {
    for (const i of paths.keys()) {
      const job = await submit(i);
      samples[i]!.totalMs.push(job.timings.totalMs);
      samples[i]!.tokensPerS.push(job.tokens / Math.max(0.001, (job.timings.totalMs - job.timings.firstTokenMs) / 1000));
    }
  }
  const peers = ((await infernetJson<{ daemon: { peers?: Array<{ npub: string; remote: string; path: string }> } }>(undefined, ['status', '--home', home('provider')])).daemon.peers ?? []);
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  const base = { ms: median(samples[0]!.totalMs), tps: median(samples[0]!.tokensPerS) };
  console.log(`NAT paths: stories260K, ${maxTokens} greedy tokens, median of ${rounds} alternating rounds (job round trip as the client sees it)`);
  console.log(`${'path'.padEnd(38)} ${'round trip ms'.padStart(14)} ${'vs direct'.padStart(10)} ${'decode tok/s'.padStart(13)} ${'vs direct'.padStart(10)}`);
  for (const [i, path] of paths.entries()) {
    const ms = median(samples[i]!.totalMs);
    const tps = median(samples[i]!.tokensPerS);
    console.log(`${path.name.padEnd(38)} ${ms.toFixed(1).padStart(14)} ${(ms / base.ms).toFixed(2).padStart(10)} ${tps.toFixed(0).padStart(13)} ${(tps / base.tps).toFixed(2).padStart(10)}`);
  }
  const [relayedMs, udpMs] = [median(samples[1]!.totalMs), median(samples[2]!.totalMs)];
  const [relayedTps, udpTps] = [median(samples[1]!.tokensPerS), median(samples[2]!.tokensPerS)];
  console.log(`direct UDP / relayed: round trip ${(udpMs / relayedMs).toFixed(2)}, decode tokens/s ${(udpTps / relayedTps).toFixed(2)}`);
  // What each aggregator's session to the provider actually runs over, as the provider sees it: a figure measured
  // over another path than its name says would be worthless.
  const pathOf = new Map<string, string>();
  for (const [name, daemon] of [['relayed', relayed], ['direct UDP', directUdp], ['public', upgraded]] as const) {
    const npub = (await infernetJson<{ npub: string }>(undefined, ['status', '--home', daemon.home])).npub;
    const peer = peers.find((entry) => entry.npub === npub);
    pathOf.set(name, peer?.path ?? 'no session');
    console.log(`  ${name} path seen by the provider: ${peer?.path ?? 'no session'} (${peer?.remote ?? ''})`);
  }
  const note = `paths seen by the provider: relayed ${pathOf.get('relayed')}, direct UDP ${pathOf.get('direct UDP')}`;
  reportFigure({ name: 'job round trip, direct UDP (WebRTC) / relayed, NAT to NAT', value: udpMs / relayedMs, unit: 'ratio', target: { atMost: 1 }, note });
  reportFigure({ name: 'decode tokens/s, direct UDP (WebRTC) / relayed, NAT to NAT', value: udpTps / relayedTps, unit: 'ratio', target: { atLeast: 1 }, note });
  reportFigure({ name: 'job round trip, relayed / LAN WebSocket', value: relayedMs / base.ms, unit: 'ratio' });
} finally {
  await Promise.all(daemons.map((daemon) => daemon.stop()));
  net.remove();
  await rm(dir, { recursive: true, force: true });
}
