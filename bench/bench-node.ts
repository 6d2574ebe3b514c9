// What the benchmarks that start in-process daemons share: a node on a fresh home (with an EVM wallet when it pays or
// settles), a run beside a local chain that stops all it started, and the median of a run's samples.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeHome, validateNodeConfig, type NodeConfigInput } from '../src/config/index.js';
import { generateNodeKey, type NodeKey } from '../src/identity/index.js';
import { silentLogger } from '../src/log/index.js';
import { NodeDaemon } from '../src/node/node-daemon.js';
import { startLocalChain, type LocalChain } from '../src/payments/evm/local-chain.js';
import { dialPeer, type PeerSession } from '../src/transport/index.js';

/** A daemon on a fresh home under the system's temp folder, listening on a free port; `walletKey`: its EVM key. */
export async function startBenchNode(input: NodeConfigInput, walletKey?: `0x${string}`): Promise<NodeDaemon> {
  const dir = await mkdtemp(join(tmpdir(), 'infernet-bench-'));
  if (walletKey) await writeFile(join(dir, 'wallet.json'), JSON.stringify({ evm: { privateKey: walletKey } }), { mode: 0o600 });
  const config = validateNodeConfig({ listen: { port: 0 }, ...input }, 'bench');
  return NodeDaemon.start({ home: nodeHome(dir), config, key: generateNodeKey(), logger: silentLogger(), writeState: false });
}

export const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

/** What a benchmark run on a local chain starts: each node and session it opens is stopped when the run ends. */
export interface ChainBenchRun {
  chain: LocalChain;
  /** A daemon (startBenchNode), stopped when the run ends. */
  node(input: NodeConfigInput, walletKey?: `0x${string}`): Promise<NodeDaemon>;
  /** A client session with `node` under `key`, closed when the run ends. */
  session(node: NodeDaemon, key: NodeKey): Promise<PeerSession>;
}

/**
 * Runs `measure` beside a local chain (hardhat); whether it ends well or throws, its sessions are closed, its nodes
 * stopped and then the chain, so a failed benchmark leaves no process behind.
 */
export async function withLocalChain(measure: (run: ChainBenchRun) => Promise<void>): Promise<void> {
  const chain = await startLocalChain();
  const nodes: NodeDaemon[] = [];
  const sessions: PeerSession[] = [];
  const limits = validateNodeConfig({}, 'bench').limits;
  try {
    await measure({
      chain,
      node: async (input, walletKey) => {
        const node = await startBenchNode(input, walletKey);
        nodes.push(node);
        return node;
      },
      session: async (node, key) => {
        const session = await dialPeer(node.url!, { identity: { key, role: 'client', agent: 'bench' }, limits, logger: silentLogger() });
        sessions.push(session);
        return session;
      },
    });
  } finally {
    for (const session of sessions) session.close();
    for (const node of nodes.reverse()) await node.stop().catch(() => undefined);
    await chain.stop();
  }
}
