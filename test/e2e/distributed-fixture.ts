// Shared set-up of the distributed suites: provider nodes that run RPC stages, started as real `infernet`
// daemons, and a head key they trust. Needs llama.cpp built by scripts/build-llama-rpc.sh (a missing build
// fails the suite with the command to run, never skips it).
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateNodeKey, publicKeyFromText, type NodeKey } from '../../src/identity/index.js';
import { locateLlamaRpcBinaries } from '../../src/distributed/index.js';
import type { StageEndpoint } from '../../src/distributed/index.js';
import { eventually, freePort, runCli, startDaemon, type RunningDaemon } from '../support/cli.js';

export interface StageNode {
  daemon: RunningDaemon;
  endpoint: StageEndpoint;
  home: string;
}

export interface StageCluster {
  headKey: NodeKey;
  nodes: StageNode[];
  stop(): Promise<void>;
}

/** `count` provider daemons, each serving RPC stages to `headKey` only. */
export async function startStageNodes(count: number, options: { headKey?: NodeKey; extraHeads?: string[]; sandbox?: 'docker' | 'none'; worker?: Record<string, unknown> } = {}): Promise<StageCluster> {
  locateLlamaRpcBinaries(); // fails here, with the set-up command, when llama.cpp is not built
  const headKey = options.headKey ?? generateNodeKey();
  const homes: string[] = [];
  const nodes: StageNode[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const home = await mkdtemp(join(tmpdir(), `infernet-stage-${i}-`));
      homes.push(home);
      const init = await runCli(['init', '--home', home, '--role', 'provider', '--port', '0', '--sandbox', 'none', '--json']);
      if (init.code !== 0) throw new Error(`init failed: ${init.stderr}`);
      const { npub } = JSON.parse(init.stdout) as { npub: string };
      const port = await freePort();
      const config = {
        role: 'provider',
        listen: { host: '127.0.0.1', port: 0 },
        storage: { backend: 'file' },
        provider: { sandbox: 'none' },
        distributed: { worker: { host: '127.0.0.1', port, heads: [headKey.npub, ...(options.extraHeads ?? [])], sandbox: options.sandbox ?? 'none', threads: 1, memoryMb: 1024, ...options.worker } },
        log: { level: 'info' },
      };
      await writeFile(join(home, 'config.json'), JSON.stringify(config));
      await rm(join(home, 'config.yaml'), { force: true });
      const daemon = await startDaemon(home);
      await eventually(() => /serving RPC stages|runs no RPC stages/.test(daemon.log()), 10_000, 'the stage listener').catch(() => undefined);
      if (!/serving RPC stages/.test(daemon.log())) {
        await daemon.stop('SIGKILL');
        throw new Error(`the stage node did not serve stages: ${daemon.log()}`);
      }
      nodes.push({ daemon, home, endpoint: { url: `ws://127.0.0.1:${port}`, pubkey: publicKeyFromText(npub) } });
    }
  } catch (error) {
    for (const node of nodes) await node.daemon.stop('SIGKILL');
    for (const home of homes) await rm(home, { recursive: true, force: true });
    throw error;
  }
  return {
    headKey,
    nodes,
    stop: async () => {
      for (const node of nodes) await node.daemon.stop();
      for (const home of homes) await rm(home, { recursive: true, force: true });
    },
  };
}

/** Process ids of a daemon's ggml-rpc-server children, from /proc (Linux). */
export function rpcWorkerPidsOf(daemonPid: number): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      if (Number(fields[1]) === daemonPid && comm.startsWith('ggml-rpc')) pids.push(Number(entry));
    } catch {
      // the process exited while we looked
    }
  }
  return pids;
}

/** Local addresses ([host, port]) with a listening TCP socket on `port`, from /proc/net/tcp and tcp6. */
export function listeningAddressesOf(port: number): string[] {
  const found: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(file, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (!local || state !== '0A') continue;
      const [hexAddress, hexPort] = local.split(':');
      if (parseInt(hexPort!, 16) !== port) continue;
      found.push(hexAddress!.length === 8 ? hexAddress!.match(/../g)!.reverse().map((h) => parseInt(h, 16)).join('.') : hexAddress!);
    }
  }
  return found;
}
