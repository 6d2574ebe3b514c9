// The head's side of one stage: the control channel that keeps the stage open on the worker's provider, and a
// local port on 127.0.0.1 that llama-server's --rpc dials; every connection to it becomes its own tunnel to the
// worker's loopback port. Closing the connection ends the stage on the provider.
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import type { NodeKey } from '../identity/index.js';
import { TunnelChannel } from './tunnel/tunnel-channel.js';
import { dialTunnel, TunnelUnreachableError, type AuthenticatedTunnel } from './tunnel/tunnel-handshake.js';
import { peerIdOfEndpoint } from '../nat/index.js';
import { pipeSocketThroughTunnel } from './tunnel/pipe-socket.js';
import type { TunnelStreamOpener } from './tunnel/tunnel-over-libp2p.js';
import { StageControlMessage, type TunnelRequest } from './tunnel/tunnel-protocol.js';
import { InfernetError } from '../errors/index.js';

const STAGE_READY_TIMEOUT_MS = 30_000;
const CONTROL_MAX_BYTES = 1 * 2 ** 20;
const STAGE_CLOSE_WAIT_MS = 3_000;

/** A provider that runs stages: where its tunnel listener is and who it is. */
export interface StageEndpoint {
  /** ws://host:port, or libp2p://<peer id> for a provider behind NAT reached through libp2p (`open`). */
  url: string;
  /** Hex public key. */
  pubkey: string;
  /**
   * Set for a provider known through libp2p (discovery): opens each tunnel's stream (relayed, or direct over UDP).
   * Used alone for a libp2p:// `url`; for a ws:// one, when that listener cannot be reached.
   */
  open?: TunnelStreamOpener;
}

/** How a stage's tunnels reach its provider: its ws:// listener, or libp2p streams. */
type StageRoute = 'websocket' | 'libp2p';

/**
 * One tunnel to the stage's provider, by `route` once the stage has one. A ws:// listener that cannot be reached (a
 * provider behind NAT that announces its private address, a firewall) is tried once: a provider known through
 * libp2p is then reached there, and the stage's later tunnels go the same way without trying the listener again.
 */
async function dialStageTunnel(endpoint: StageEndpoint, key: NodeKey, request: TunnelRequest, route?: StageRoute): Promise<{ tunnel: AuthenticatedTunnel; route: StageRoute }> {
  const { open } = endpoint;
  const base = { url: endpoint.url, key, worker: endpoint.pubkey, request };
  if (open && (route === 'libp2p' || peerIdOfEndpoint(endpoint.url) !== undefined)) return { tunnel: await dialTunnel({ ...base, open }), route: 'libp2p' };
  try {
    return { tunnel: await dialTunnel(base), route: 'websocket' };
  } catch (error) {
    if (!open || route === 'websocket' || !(error instanceof TunnelUnreachableError)) throw error;
    return { tunnel: await dialTunnel({ ...base, open }), route: 'libp2p' };
  }
}

export class StageFailedError extends InfernetError {
  override readonly name = 'StageFailedError';
  constructor(
    readonly endpoint: StageEndpoint,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('engine_failed', message, options);
  }
}

export interface OpenStageParameters {
  endpoint: StageEndpoint;
  key: NodeKey;
  jobId: string;
  threads?: number;
  /** Bytes through this stage's tunnels together, as the head sees them. */
  maxBytes?: number;
  /** The model's content id, so a provider holding the file pre-fills the worker's tensor cache. */
  modelCid?: string;
}

/** What the provider said when the stage became ready. */
export type StageReady = Extract<StageControlMessage, { type: 'stage.ready' }>;

export class StageConnection {
  /** Set when the stage is gone or its worker restarted: the head must not keep using it. */
  failure?: string;
  /** The failure was the provider restarting a worker that died: the provider itself still serves stages. */
  workerRestarted = false;
  private readonly tunnels = new Set<TunnelChannel>();
  /** Bytes of tunnels already closed; open ones are counted live. */
  private closedTunnelBytes = 0;
  readonly openedAt = Date.now();
  private readonly failureHandlers = new Set<(reason: string) => void>();

  private constructor(
    readonly endpoint: StageEndpoint,
    private readonly control: TunnelChannel,
    private readonly server: Server,
    readonly ready: StageReady,
    private readonly params: OpenStageParameters,
    /** How the control channel reached the provider: the stage's other tunnels go the same way. */
    readonly route: StageRoute,
  ) {
    control.onClose((reason) => this.fail(`the stage's control channel closed: ${reason}`));
    control.onData((data) => {
      const message = StageControlMessage.safeParse(safeJson(data));
      if (!message.success) return;
      if (message.data.type === 'stage.restarted') {
        this.workerRestarted ||= this.failure === undefined;
        this.fail(`the worker restarted: ${message.data.reason}`);
      }
      if (message.data.type === 'stage.ended') this.fail(`the stage ended: ${message.data.reason}`);
    });
  }

  static async open(params: OpenStageParameters): Promise<StageConnection> {
    const { endpoint } = params;
    const request = { action: 'stage.open' as const, jobId: params.jobId, ...(params.threads ? { threads: params.threads } : {}), ...(params.modelCid ? { modelCid: params.modelCid } : {}) };
    const { tunnel, route } = await dialStageTunnel(endpoint, params.key, request);
    const control = new TunnelChannel(tunnel.socket, tunnel.keys, { peer: tunnel.peer, maxBytes: CONTROL_MAX_BYTES });
    const ready = await firstControlMessage(control, endpoint);
    if (ready.type !== 'stage.ready') {
      control.close('stage failed');
      throw new StageFailedError(endpoint, `the stage at ${endpoint.url} did not start: ${'reason' in ready ? ready.reason : ready.type}`);
    }
    const server = createServer();
    await new Promise<void>((resolve, reject) => server.listen(0, '127.0.0.1', resolve).once('error', reject));
    const stage = new StageConnection(endpoint, control, server, ready, params, route);
    server.on('connection', (socket) => void stage.forward(socket));
    return stage;
  }

  /** What llama-server's --rpc takes for this stage. */
  get rpcAddress(): string {
    return `127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  get memoryBytes(): number {
    return this.ready.memoryBytes;
  }

  /** The stage's id on its provider. */
  get jobId(): string {
    return this.params.jobId;
  }

  /** Bytes through all of this stage's tunnels so far, both directions (weights included). */
  get bytesMoved(): number {
    let open = 0;
    for (const tunnel of this.tunnels) open += tunnel.bytesMoved;
    return this.closedTunnelBytes + open;
  }

  get isHealthy(): boolean {
    return this.failure === undefined;
  }

  onFailure(handler: (reason: string) => void): void {
    if (this.failure !== undefined) handler(this.failure);
    else this.failureHandlers.add(handler);
  }

  async close(): Promise<void> {
    for (const tunnel of this.tunnels) tunnel.close('the head is done with the stage');
    // Asked rather than dropped, so the provider has freed the stage's slot before a failover reopens one there.
    if (this.control.isOpen) {
      const closed = new Promise<void>((resolve) => this.control.onClose(() => resolve()));
      this.control.send(Buffer.from(JSON.stringify({ type: 'stage.close' } satisfies StageControlMessage)));
      await Promise.race([closed, new Promise((resolve) => setTimeout(resolve, STAGE_CLOSE_WAIT_MS).unref())]);
    }
    this.control.close('the head is done with the stage');
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private async forward(socket: Socket): Promise<void> {
    socket.pause();
    try {
      const { tunnel } = await dialStageTunnel(this.endpoint, this.params.key, { action: 'tunnel.connect', jobId: this.params.jobId }, this.route);
      const channel = new TunnelChannel(tunnel.socket, tunnel.keys, { peer: tunnel.peer, maxBytes: this.params.maxBytes ?? Number.MAX_SAFE_INTEGER });
      this.tunnels.add(channel);
      channel.onClose(() => {
        if (this.tunnels.delete(channel)) this.closedTunnelBytes += channel.bytesMoved;
      });
      pipeSocketThroughTunnel(socket, channel);
      socket.resume();
    } catch (error) {
      socket.destroy();
      this.fail(`cannot open a tunnel to ${this.endpoint.url}: ${(error as Error).message}`);
    }
  }

  private fail(reason: string): void {
    if (this.failure !== undefined) return;
    this.failure = reason;
    for (const handler of this.failureHandlers) handler(reason);
    this.failureHandlers.clear();
  }
}

function safeJson(data: Buffer): unknown {
  try {
    return JSON.parse(data.toString('utf8'));
  } catch {
    return undefined;
  }
}

function firstControlMessage(control: TunnelChannel, endpoint: StageEndpoint): Promise<StageControlMessage> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      control.close('stage not ready in time');
      reject(new StageFailedError(endpoint, `the stage at ${endpoint.url} was not ready within ${STAGE_READY_TIMEOUT_MS} ms`));
    }, STAGE_READY_TIMEOUT_MS);
    control.onData((data) => {
      const message = StageControlMessage.safeParse(safeJson(data));
      if (!message.success) return;
      clearTimeout(timer);
      resolve(message.data);
    });
    control.onClose((reason) => {
      clearTimeout(timer);
      reject(new StageFailedError(endpoint, `the stage at ${endpoint.url} closed before it was ready: ${reason}`));
    });
  });
}
