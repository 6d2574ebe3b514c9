// daemon.json in the node home: how `status` and `submit` find a running daemon and what it is connected to.
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import type { NodeRole } from '../protocol/index.js';
import type { NatStatus } from '../nat/index.js';
import type { ProviderSummary } from './node-discovery.js';
import type { ProviderEngineState } from '../provider/provider-runtime.js';
import { isPidAlive } from '../processes/index.js';

export interface DaemonPeer {
  npub: string;
  role: NodeRole;
  remote: string;
}

export interface DaemonState {
  pid: number;
  url: string | null;
  role: NodeRole;
  npub: string;
  startedAt: string;
  peers: DaemonPeer[];
  /** With discovery on: this node's libp2p identity and addresses, and the providers it knows of. */
  peerId?: string;
  multiaddrs?: string[];
  providers?: ProviderSummary[];
  /** With discovery on: reachability (public, relayed, direct-upgraded, private), relays in use, connection paths. */
  nat?: NatStatus;
  /** The OpenAI-compatible API's base URL (without /v1) while it serves; absent when it is off. */
  api?: string;
  /** The Prometheus endpoint (http://host:port/metrics) while one serves: on the API port, or alone for roles without an API. */
  metrics?: string;
  /** A provider's engines: sandbox, backend and device, each model's engine (loads, restarts, last error). */
  engine?: ProviderEngineState;
  /** A provider that runs no jobs: why, as it tells every client's offer (no Docker engine, a GPU without its build). */
  refusal?: string;
}

/** Numbers this process's partial files. */
let writeCount = 0;

/** Written to a temporary file and renamed, so a reader never sees half a file. */
export async function writeDaemonState(path: string, state: DaemonState): Promise<void> {
  // Unique per write: two saves in flight must not rename each other's partial file away.
  const partial = `${path}.${process.pid}.${++writeCount}.tmp`;
  await writeFile(partial, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  await rename(partial, path);
}

/**
 * Writes daemon.json one write at a time, each from the state as it is when its turn comes. Writes started side
 * by side (an engine loaded, a peer joined, the listener up) could finish in any order, and the last rename would
 * win: a daemon whose file kept a stale state without its URL was never seen as started.
 */
export class DaemonStateWriter {
  private last: Promise<void> = Promise.resolve();

  constructor(
    private readonly path: string,
    private readonly snapshot: () => DaemonState,
  ) {}

  /** Resolves once a write that began after this call (so holding at least today's state) is on disk. */
  save(): Promise<void> {
    const write = this.last.then(() => writeDaemonState(this.path, this.snapshot()));
    this.last = write.catch(() => undefined);
    return write;
  }
}

export async function removeDaemonState(path: string): Promise<void> {
  await rm(path, { force: true });
}

/** The state of a daemon whose process is still alive; a leftover file of a crashed daemon reads as none. */
export async function readLiveDaemonState(path: string): Promise<DaemonState | undefined> {
  let state: DaemonState;
  try {
    state = JSON.parse(await readFile(path, 'utf8')) as DaemonState;
  } catch {
    return undefined;
  }
  return isPidAlive(state.pid) ? state : undefined;
}
