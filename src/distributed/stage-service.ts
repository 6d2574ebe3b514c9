// The worker side of distributed inference on a provider: a listener for tunnels from heads it trusts. A head
// opens a stage for a job (one ggml-rpc-server, started for that job and gone when the head closes the stage,
// its time runs out or its byte budget is spent); byte streams to that worker are accepted only for a job with
// an open stage, only from the head that opened it, and only through the authenticated, encrypted tunnel.
// A head that names its model's content id, on a provider that holds that file, gets its worker's tensor cache
// filled from the provider's copy before it loads (rpc-tensor-cache.ts): the weights then never cross the network.
import { createServer, type Server } from 'node:http';
import { freemem } from 'node:os';
import type { AddressInfo, Socket } from 'node:net';
import type { Libp2p } from 'libp2p';
import { WebSocketServer, type WebSocket } from 'ws';
import type { NodeKey } from '../identity/index.js';
import type { Logger } from '../log/index.js';
import { prefillTensorCache, type PrefillTensorCacheReturnType } from './rpc-tensor-cache.js';
import { RpcWorker, type RpcWorkerLauncher } from './rpc-worker.js';
import { DEFAULT_HANDSHAKE_LIMITS, HandshakeAdmission, type HandshakeLimits } from './tunnel/handshake-admission.js';
import { TunnelChannel } from './tunnel/tunnel-channel.js';
import { acceptTunnelHandshake, TunnelRefusedError } from './tunnel/tunnel-handshake.js';
import { MAX_HANDSHAKE_BYTES, StageControlMessage, type TunnelRequest } from './tunnel/tunnel-protocol.js';
import { pipeSocketThroughTunnel } from './tunnel/pipe-socket.js';
import { Libp2pStreamSocket } from './tunnel/libp2p-stream-socket.js';
import { serveTunnelStreams } from './tunnel/tunnel-over-libp2p.js';

export interface StageLimits {
  /** Stages open at once on this provider. */
  maxStages: number;
  /** Longest a stage lives, from open to close. */
  maxStageMs: number;
  /** Bytes through all of a stage's tunnels together (weights included). */
  maxStageBytes: number;
}

/** How long a stage's ready waits for its tensor cache to be pre-filled; the head's own wait is 30 s. */
const PREFILL_WAIT_MS = 20_000;

export const DEFAULT_STAGE_LIMITS: StageLimits = { maxStages: 1, maxStageMs: 60 * 60_000, maxStageBytes: 64 * 2 ** 30 };

export interface StageServiceOptions {
  key: NodeKey;
  host: string;
  port: number;
  /** Hex public keys of the heads allowed to open stages here, or any head (the limits still apply). */
  heads: readonly string[] | 'any';
  launcher: RpcWorkerLauncher;
  threads: number;
  /** Memory offered to a stage, reported to the head for its split; free memory when absent. */
  memoryBytes?: number;
  limits?: Partial<StageLimits>;
  /** Connections not yet authenticated: how many at once, in all and per remote address, and for how long. */
  handshakes?: Partial<HandshakeLimits>;
  /**
   * Pre-filling from models this provider holds: `dir` is the workers' LLAMA_CACHE (the launcher's cache dir),
   * `modelPathOf` finds the local file of a content id (the content store, configured models), if any.
   */
  tensorCache?: { dir: string; modelPathOf: (cid: string) => Promise<string | undefined> };
  logger: Logger;
}

interface Stage {
  jobId: string;
  head: string;
  worker: RpcWorker;
  control: TunnelChannel;
  bytes: number;
  tunnels: Set<TunnelChannel>;
  timer: NodeJS.Timeout;
  /** Set once the stage is ending: resolves when its worker is gone. */
  ending?: Promise<void>;
}

export class StageService {
  private readonly stages = new Map<string, Stage>();
  /** Jobs whose worker is starting: counted as open, so a second open for them is refused meanwhile. */
  private readonly starting = new Set<string>();
  /** Pre-fills running, by model content id: stages opened for one model at once share one pass over its file. */
  private readonly prefills = new Map<string, Promise<PrefillTensorCacheReturnType | undefined>>();
  private readonly limits: StageLimits;
  private readonly handshakeLimits: HandshakeLimits;
  private readonly admission: HandshakeAdmission;
  /** The release of each TCP connection still counted as pending, until its tunnel handshake ends. */
  private readonly pendingHandshakes = new WeakMap<Socket, () => void>();
  /** Stops answering tunnel streams on libp2p, once serveOverLibp2p ran. */
  private stopServingStreams?: () => Promise<void>;

  private constructor(
    private readonly server: Server,
    private readonly wss: WebSocketServer,
    private readonly options: StageServiceOptions,
  ) {
    this.limits = { ...DEFAULT_STAGE_LIMITS, ...options.limits };
    this.handshakeLimits = { ...DEFAULT_HANDSHAKE_LIMITS, ...options.handshakes };
    this.admission = new HandshakeAdmission(this.handshakeLimits);
    // Counted from the TCP connection, not the WebSocket: a peer that never sends its upgrade request holds a
    // place as surely as one that never answers tunnel.hello.
    server.on('connection', (socket: Socket) => this.admitConnection(socket));
    wss.on('connection', (socket, request) => {
      // A libp2p stream names its peer and its path (direct-udp, direct-tcp, relayed) instead of an address and port.
      const remote = request.socket instanceof Libp2pStreamSocket ? `${request.socket.path} ${request.socket.remoteAddress}` : `${request.socket.remoteAddress}:${request.socket.remotePort}`;
      const handshakeDone = () => this.pendingHandshakes.get(request.socket)?.();
      // Whatever a head's connection makes fail ends that connection, never the provider.
      this.accept(socket, request.socket as Socket, remote, handshakeDone).catch((error: unknown) => {
        options.logger.error({ remote, err: error instanceof Error ? error.message : String(error) }, 'stage connection failed');
        socket.terminate();
      });
    });
  }

  static async listen(options: StageServiceOptions): Promise<StageService> {
    const server = createServer((_request, response) => response.writeHead(426).end());
    // WebSocket carries the handshake only: the tunnel's frames go on the connection after it (tunnel-framing.ts).
    const wss = new WebSocketServer({ server, maxPayload: MAX_HANDSHAKE_BYTES, perMessageDeflate: false });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(options.port, options.host, () => {
        server.off('error', reject);
        resolve();
      });
    });
    return new StageService(server, wss, options);
  }

  get url(): string {
    const { address, port } = this.server.address() as AddressInfo;
    return `ws://${address.includes(':') ? `[${address}]` : address}:${port}`;
  }

  /**
   * Answers tunnels on libp2p streams too (TUNNEL_STREAM_PROTOCOL), for heads that cannot reach the ws:// listener
   * (this provider behind NAT). Each stream is taken as a connection of the listener: the same admission, handshake
   * deadline, key proofs, decisions and limits as a TCP connection, so no unauthenticated byte reaches a worker.
   */
  async serveOverLibp2p(libp2p: Pick<Libp2p, 'handle' | 'unhandle'>): Promise<void> {
    if (this.stopServingStreams) return;
    this.stopServingStreams = await serveTunnelStreams(libp2p, (socket) => {
      if (!this.server.listening) return void socket.destroy();
      // Node's HTTP server takes any Duplex as a connection this way (its 'connection' event is documented so).
      this.server.emit('connection', socket);
    });
  }

  /** Jobs with an open stage here. */
  openStages(): { jobId: string; head: string; workerPid: number | undefined }[] {
    return [...this.stages.values()].map((stage) => ({ jobId: stage.jobId, head: stage.head, workerPid: stage.worker.pid }));
  }

  async close(): Promise<void> {
    await this.stopServingStreams?.().catch(() => undefined);
    for (const stage of [...this.stages.values()]) await this.end(stage, 'the provider is stopping');
    for (const client of this.wss.clients) client.terminate();
    await new Promise<void>((resolve) => this.wss.close(() => resolve()));
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** A connection beyond its share of pending handshakes is dropped at once; one admitted has until the deadline. */
  private admitConnection(socket: Socket): void {
    const remote = socket.remoteAddress ?? 'unknown';
    const admitted = this.admission.admit(remote);
    if (!admitted.admitted) {
      this.options.logger.warn({ remote, reason: admitted.reason }, 'stage connection refused before its handshake');
      socket.destroy();
      return;
    }
    const deadline = setTimeout(() => socket.destroy(), this.handshakeLimits.timeoutMs);
    const release = (): void => {
      clearTimeout(deadline);
      admitted.release();
      this.pendingHandshakes.delete(socket);
    };
    this.pendingHandshakes.set(socket, release);
    socket.once('close', release);
  }

  private async accept(socket: WebSocket, connection: Socket, remote: string, handshakeDone: () => void): Promise<void> {
    const log = this.options.logger.child({ remote });
    // Text frames of the handshake are small; data frames are bounded by the channel's chunk size.
    socket.on('error', () => undefined);
    let tunnel;
    try {
      tunnel = await acceptTunnelHandshake(socket, connection, { key: this.options.key, timeoutMs: this.handshakeLimits.timeoutMs, decide: (head, request) => this.decide(head, request) });
    } catch (error) {
      log.warn({ code: (error as TunnelRefusedError).refusal }, `tunnel refused: ${(error as Error).message}`);
      return;
    } finally {
      handshakeDone();
    }
    const { request } = tunnel;
    if (request.action === 'stage.open') await this.openStage(tunnel.socket, tunnel.keys, tunnel.peer, request, log);
    else await this.connectTunnel(new TunnelChannel(tunnel.socket, tunnel.keys, { peer: tunnel.peer, maxBytes: this.remainingBytes(request.jobId) }), request.jobId, log);
  }

  /** Every rule a request must pass, before anything is started or forwarded. */
  private decide(head: string, request: TunnelRequest): void {
    if (this.options.heads !== 'any' && !this.options.heads.includes(head)) throw new TunnelRefusedError('not_allowed', `head ${head.slice(0, 12)} may not open stages on this provider`);
    const stage = this.stages.get(request.jobId);
    if (request.action === 'stage.open') {
      // A stage that is ending makes way: a head failing over reopens stages for the same job at once.
      if ((stage && !stage.ending) || this.starting.has(request.jobId)) throw new TunnelRefusedError('busy', `job ${request.jobId} already has a stage here`);
      const active = [...this.stages.values()].filter((open) => !open.ending).length;
      if (active + this.starting.size >= this.limits.maxStages) throw new TunnelRefusedError('busy', `all ${this.limits.maxStages} stages of this provider are in use`);
      return;
    }
    if (!stage) throw new TunnelRefusedError('unknown_job', `no stage for job ${request.jobId} here`);
    if (stage.head !== head) throw new TunnelRefusedError('not_allowed', `job ${request.jobId} belongs to another head`);
  }

  private async openStage(socket: Socket, keys: ConstructorParameters<typeof TunnelChannel>[1], head: string, request: Extract<TunnelRequest, { action: 'stage.open' }>, log: Logger): Promise<void> {
    const { jobId } = request;
    const control = new TunnelChannel(socket, keys, { peer: head, maxBytes: MAX_HANDSHAKE_BYTES * 64 });
    const send = (message: StageControlMessage) => control.send(Buffer.from(JSON.stringify(message)));
    const threads = Math.min(request.threads ?? this.options.threads, this.options.threads);
    let stage: Stage | undefined;
    let prefilled: PrefillTensorCacheReturnType | undefined;
    this.starting.add(jobId);
    try {
      await this.stages.get(jobId)?.ending;
      const prefilling = this.prefill(request.modelCid, log);
      const worker = await RpcWorker.start({
        launcher: this.options.launcher,
        threads,
        jobId,
        logger: log.child({ jobId }),
        onRestart: (reason) => {
          send({ type: 'stage.restarted', reason });
          // Streams to the dead process are useless: the head reconnects and loads again.
          for (const tunnel of stage?.tunnels ?? []) tunnel.close('the worker restarted');
        },
        onGone: (reason) => void (stage && this.end(stage, reason)),
      });
      stage = { jobId, head, worker, control, bytes: 0, tunnels: new Set(), timer: setTimeout(() => void this.end(stage!, `the stage reached its time limit of ${this.limits.maxStageMs} ms`), this.limits.maxStageMs) };
      this.stages.set(jobId, stage);
      // A head waits STAGE_READY_TIMEOUT_MS for its stage: a first pass over a huge model goes on in the
      // background (for the next load) while this one uploads what is not there yet.
      prefilled = await Promise.race([prefilling, new Promise<undefined>((resolve) => setTimeout(() => resolve(undefined), PREFILL_WAIT_MS).unref())]);
    } catch (error) {
      log.error({ jobId, err: (error as Error).message }, 'cannot start the RPC worker');
      send({ type: 'stage.ended', reason: `the worker did not start: ${(error as Error).message}` });
      control.close('stage failed');
      return;
    } finally {
      this.starting.delete(jobId);
    }
    if (!control.isOpen) return void this.end(stage, 'the head left while the stage started');
    control.onClose(() => void this.end(stage, 'the head closed the stage'));
    control.onData((data) => {
      if (isStageClose(data)) void this.end(stage, 'the head is done with the stage');
    });
    send({
      type: 'stage.ready',
      memoryBytes: this.options.memoryBytes ?? freemem(),
      threads,
      maxStageMs: this.limits.maxStageMs,
      maxStageBytes: this.limits.maxStageBytes,
      ...(prefilled ? { prefilled: { tensors: prefilled.tensors, bytes: prefilled.bytes } } : {}),
    });
    log.info({ jobId, head: head.slice(0, 12), workerPid: stage.worker.pid, sandbox: this.options.launcher.kind, prefilled }, 'stage opened');
  }

  /** Fills the tensor cache from this provider's copy of the head's model, when it has one; never fails the stage. */
  private prefill(modelCid: string | undefined, log: Logger): Promise<PrefillTensorCacheReturnType | undefined> {
    if (!modelCid || !this.options.tensorCache) return Promise.resolve(undefined);
    let running = this.prefills.get(modelCid);
    if (!running) {
      running = this.prefillOnce(modelCid, this.options.tensorCache, log).finally(() => this.prefills.delete(modelCid));
      this.prefills.set(modelCid, running);
    }
    return running;
  }

  private async prefillOnce(modelCid: string, cache: NonNullable<StageServiceOptions['tensorCache']>, log: Logger): Promise<PrefillTensorCacheReturnType | undefined> {
    try {
      const modelPath = await cache.modelPathOf(modelCid);
      if (!modelPath) return undefined;
      const started = performance.now();
      const result = await prefillTensorCache({ modelPath, cacheDir: cache.dir, modelKey: modelCid });
      log.info({ modelCid, modelPath, ...result, ms: Math.round(performance.now() - started) }, 'tensor cache pre-filled from the held model');
      return result;
    } catch (error) {
      log.warn({ modelCid, err: (error as Error).message }, 'cannot pre-fill the tensor cache; the head uploads the weights');
      return undefined;
    }
  }

  private async connectTunnel(channel: TunnelChannel, jobId: string, log: Logger): Promise<void> {
    const stage = this.stages.get(jobId);
    if (!stage || stage.ending) return channel.close('the stage is not ready');
    // Bytes from the head wait in the channel until the worker's end is open.
    channel.pause();
    let socket;
    try {
      socket = await stage.worker.connect();
    } catch (error) {
      return channel.close((error as Error).message);
    }
    channel.resume();
    stage.tunnels.add(channel);
    channel.onClose(() => {
      stage.tunnels.delete(channel);
      stage.bytes += channel.bytesMoved;
    });
    pipeSocketThroughTunnel(socket, channel);
    log.debug({ jobId }, 'tunnel connected to the worker');
  }

  private remainingBytes(jobId: string): number {
    const stage = this.stages.get(jobId);
    return Math.max(0, this.limits.maxStageBytes - (stage?.bytes ?? 0));
  }

  private end(stage: Stage, reason: string): Promise<void> {
    stage.ending ??= this.stop(stage, reason);
    return stage.ending;
  }

  private async stop(stage: Stage, reason: string): Promise<void> {
    clearTimeout(stage.timer);
    for (const tunnel of stage.tunnels) tunnel.close(reason);
    if (stage.control.isOpen) {
      stage.control.send(Buffer.from(JSON.stringify({ type: 'stage.ended', reason } satisfies StageControlMessage)));
      stage.control.close(reason);
    }
    await stage.worker.stop();
    // Listed until its worker is gone, so nobody sees a job without a stage whose worker still answers.
    if (this.stages.get(stage.jobId) === stage) this.stages.delete(stage.jobId);
    this.options.logger.info({ jobId: stage.jobId, reason }, 'stage ended');
  }
}

function isStageClose(data: Buffer): boolean {
  try {
    const message = StageControlMessage.safeParse(JSON.parse(data.toString('utf8')));
    return message.success && message.data.type === 'stage.close';
  } catch {
    return false;
  }
}
