// What the benchmarks that start in-process daemons share: a node on a fresh home (with an EVM wallet when it pays or
// settles), and the median of a run's samples.
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodeHome, validateNodeConfig, type NodeConfigInput } from '../src/config/index.js';
import { generateNodeKey } from '../src/identity/index.js';
import { silentLogger } from '../src/log/index.js';
import { NodeDaemon } from '../src/node/node-daemon.js';

/** A daemon on a fresh home under the system's temp folder, listening on a free port; `walletKey`: its EVM key. */
export async function startBenchNode(input: NodeConfigInput, walletKey?: `0x${string}`): Promise<NodeDaemon> {
  const dir = await mkdtemp(join(tmpdir(), 'infernet-bench-'));
  if (walletKey) await writeFile(join(dir, 'wallet.json'), JSON.stringify({ evm: { privateKey: walletKey } }), { mode: 0o600 });
  const config = validateNodeConfig({ listen: { port: 0 }, ...input }, 'bench');
  return NodeDaemon.start({ home: nodeHome(dir), config, key: generateNodeKey(), logger: silentLogger(), writeState: false });
}

export const median = (values: readonly number[]): number => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
