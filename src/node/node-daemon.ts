// One node process: the roles its config names, composed over one WebSocket listener and its outgoing links.
import { apiKeysFileOf, startApiServer, type ApiServer } from '../api/index.js';
import { rolesOf, type NodeConfig, type NodeHome } from '../config/index.js';
import type { NodeKey } from '../identity/index.js';
import type { InferenceEngine } from '../inference/index.js';
import { JOB_STATES, isFinished, type JobStore } from '../jobs/index.js';
import type { Logger } from '../log/index.js';
import type { ProviderCapabilities } from '../protocol/index.js';
import { PeerLink, PeerServer, type PeerSession, type SessionIdentity } from '../transport/index.js';
import { AggregatorService } from './aggregator-service.js';
import { removeDaemonState, writeDaemonState, type DaemonPeer } from './daemon-state.js';
import { ModelCatalog } from './model-catalog.js';
import { openNodeStore, type NodeStore } from './node-store.js';
import { ProviderService } from './provider-service.js';
import { openProviderRuntime, type ProviderRuntime } from './provider-runtime.js';

export const AGENT = 'infernet/0.1.0';
const UNFINISHED_STATES = JOB_STATES.filter((state) => !isFinished(state));

export interface NodeDaemonOptions {
  home: NodeHome;
  config: NodeConfig;
  key: NodeKey;
  logger: Logger;
  /** Write daemon.json so CLI commands find this daemon (off for an embedded, short-lived node). */
  writeState?: boolean;
  engine?: InferenceEngine;
  store?: JobStore;
}

export class NodeDaemon {
  readonly store: JobStore;
  readonly aggregator?: AggregatorService;
  readonly provider?: ProviderService;
  private server?: PeerServer;
  private api?: ApiServer;
  private readonly links: PeerLink[] = [];
  private readonly peers = new Map<PeerSession, DaemonPeer>();
  private readonly startedAt = new Date().toISOString();

  private constructor(
    private readonly options: NodeDaemonOptions,
    private readonly runtime: ProviderRuntime | undefined,
    private readonly catalog: ModelCatalog | undefined,
    private readonly nodeStore: NodeStore,
  ) {
    const engine = runtime?.engine;
    const { config, logger } = options;
    const roles = rolesOf(config.role);
    this.store = nodeStore.store;
    if (roles.aggregator) this.aggregator = new AggregatorService({ store: this.store, logger });
    if (roles.provider && catalog) {
      this.provider = new ProviderService({
        key: options.key,
        ...(engine ? { engine } : { refusal: runtime?.refusal ?? 'no engine' }),
        catalog,
        store: this.store,
        slots: config.provider.slots,
        ...(config.provider.price ? { price: config.provider.price } : {}),
        logger,
      });
    }
  }

  static async start(options: NodeDaemonOptions): Promise<NodeDaemon> {
    const { config, logger } = options;
    const roles = rolesOf(config.role);
    const catalog = roles.provider ? await ModelCatalog.fromPaths(config.models) : undefined;
    const runtime = roles.provider ? (options.engine ? { engine: options.engine } : await openProviderRuntime(config, options.key.publicKey, logger)) : undefined;
    const nodeStore = options.store ? { store: options.store, location: 'in memory', close: () => options.store!.close() } : await openNodeStore(options.home, config, logger);
    await failInterruptedJobs(nodeStore.store, logger);
    const daemon = new NodeDaemon(options, runtime, catalog, nodeStore);
    if (catalog && runtime?.engine) await daemon.preloadModels(catalog, runtime.engine);
    if (roles.provider || roles.aggregator) await daemon.listen();
    daemon.dialConfiguredPeers();
    // A port already taken fails the start: stop what started, so no store or child process outlives it.
    await daemon.startApi().catch(async (error: unknown) => {
      await daemon.stop();
      throw error;
    });
    await daemon.saveState();
    logger.info({ role: config.role, npub: options.key.npub, url: daemon.url, models: catalog?.paths ?? [] }, 'node started');
    return daemon;
  }

  get url(): string | null {
    return this.server?.url ?? null;
  }

  /** The OpenAI-compatible API's base URL, while it serves. */
  get apiUrl(): string | null {
    return this.api?.url ?? null;
  }

  async stop(): Promise<void> {
    await this.api?.close();
    for (const link of this.links) link.stop();
    await this.server?.close();
    await this.runtime?.engine?.close();
    await this.nodeStore.close();
    if (this.options.writeState !== false) await removeDaemonState(this.options.home.daemonStateFile);
    this.options.logger.info('node stopped');
  }

  private async preloadModels(catalog: ModelCatalog, engine: InferenceEngine): Promise<void> {
    if (!catalog.paths.length) this.options.logger.warn('provider role with no models configured: add `models:` to the config or `--model` to init');
    for (const path of catalog.paths) {
      const started = performance.now();
      await engine.preload(path);
      this.options.logger.info({ model: path, ms: Math.round(performance.now() - started) }, 'model loaded');
    }
  }

  private identity(sessionRole: SessionIdentity['role']): SessionIdentity {
    return {
      key: this.options.key,
      role: sessionRole,
      agent: AGENT,
      capabilities: () => this.capabilities(),
      ...(this.provider ? { load: () => this.provider!.load } : {}),
    };
  }

  private capabilities(): ProviderCapabilities | undefined {
    if (!this.provider || !this.catalog) return undefined;
    const price = this.options.config.provider.price;
    const engine = this.provider.engineId;
    return { models: this.catalog.offers(), slots: this.provider.slots, ...(engine ? { engine } : {}), ...(price ? { price } : {}) };
  }

  private async listen(): Promise<void> {
    const { config, logger } = this.options;
    this.server = await PeerServer.listen({
      host: config.listen.host,
      port: config.listen.port,
      identity: this.identity(config.role),
      limits: config.limits,
      logger,
      onSession: (session) => this.acceptSession(session),
    });
  }

  /** A peer that dialled us: it said in hello which side of the conversation it takes. */
  private acceptSession(session: PeerSession): void {
    const role = session.peer?.role;
    if (role === 'client' && this.aggregator) this.aggregator.addClient(session);
    else if (role === 'aggregator' && this.provider) this.provider.attach(session);
    // A provider without a public port dials its aggregator: it serves jobs over that connection.
    else if (role === 'provider' && this.aggregator) this.aggregator.addProvider(session);
    else {
      session.sendError('unauthenticated', `this node (${this.options.config.role}) does not serve ${role} peers`);
      return session.close('role not served');
    }
    this.track(session);
  }

  private dialConfiguredPeers(): void {
    const { config, logger } = this.options;
    const targets = [...config.connect];
    // The embedded all-in-one node routes to its own provider through the same path as to any other.
    if (config.role === 'all' && this.url) targets.push(this.url);
    if (config.role === 'client') return; // clients dial per job (`infernet submit`)
    const sessionRole = this.aggregator ? 'aggregator' : 'provider';
    for (const url of targets) {
      const link = new PeerLink(url, {
        identity: this.identity(sessionRole),
        limits: config.limits,
        logger,
        onSession: (session) => {
          if (this.aggregator) this.aggregator.addProvider(session);
          else this.provider?.attach(session);
          this.track(session);
        },
      });
      this.links.push(link);
      link.start();
    }
  }

  /** The HTTP API runs jobs as a client: through the configured aggregators, or an all-in-one node's own. */
  private async startApi(): Promise<void> {
    const { config, home, key, logger } = this.options;
    if (config.api.port === null) return;
    if (config.role !== 'client' && config.role !== 'all') return logger.warn({ role: config.role }, 'api.port is set but this role has no client side: the API is off');
    const aggregator = this.aggregator;
    this.api = await startApiServer({
      host: config.api.host,
      port: config.api.port,
      keysFile: apiKeysFileOf(home, config),
      key,
      agent: AGENT,
      limits: config.limits,
      logger: logger.child({ component: 'api' }),
      aggregators: aggregator && this.url ? [this.url] : config.connect,
      ...(aggregator ? { localModels: () => aggregator.availableModels() } : {}),
      store: this.store,
    });
  }

  private track(session: PeerSession): void {
    if (!session.peer) return;
    this.peers.set(session, { npub: session.peer.npub, role: session.peer.role, remote: session.remote });
    void this.saveState();
    session.onClose(() => {
      this.peers.delete(session);
      void this.saveState();
    });
  }

  private async saveState(): Promise<void> {
    if (this.options.writeState === false) return;
    await writeDaemonState(this.options.home.daemonStateFile, {
      pid: process.pid,
      url: this.url,
      role: this.options.config.role,
      npub: this.options.key.npub,
      startedAt: this.startedAt,
      peers: [...this.peers.values()],
      ...(this.api ? { api: this.api.url } : {}),
    }).catch((error: Error) => this.options.logger.warn({ err: error.message }, 'cannot write daemon state'));
  }
}

/**
 * Jobs this node was relaying or running when it last stopped without finishing them. Their sessions died with
 * the process, and a provider's spec was never kept, so none can resume here: each is failed with the reason
 * recorded (the client learnt of it when its session dropped, and may submit again).
 */
async function failInterruptedJobs(store: JobStore, logger: Logger): Promise<void> {
  for (const role of ['provider', 'aggregator'] as const) {
    for (const job of await store.list({ role, states: UNFINISHED_STATES })) {
      const message = `the node stopped while the job was ${job.state}`;
      await store.transition(job.jobId, role, 'failed', { error: { code: 'interrupted', message } }, message);
      logger.warn({ jobId: job.jobId, role, was: job.state }, 'failed a job interrupted by the last stop');
    }
  }
}
