// One node process: the roles its config names, composed over one WebSocket listener and its outgoing links.
import { join } from 'node:path';
import { apiKeysFileOf, startApiServer, type ApiServer } from '../api/index.js';
import { startBatchService, type RunningBatchService } from '../batch/index.js';
import { AppGateway } from '../app-gateway/index.js';
import { rolesOf, type NodeConfig, type NodeHome } from '../config/index.js';
import type { NodeKey } from '../identity/index.js';
import type { InferenceEngine } from '../inference/index.js';
import { FileFeedCursors, JobEventFeed, resumeJobsAfterRestart, type JobStore } from '../jobs/index.js';
import type { Logger } from '../log/index.js';
import { JobMetricsReader, NodeMetrics, startMetricsServer, METRICS_PATH, type MetricsServer } from '../metrics/index.js';
import { isNetTestFrame, NetTestResponder } from '../network-test/index.js';
import type { NostrEvent, ProviderCapabilities } from '../protocol/index.js';
import { signPayoutStatement } from '../payments/terms/payout-statement.js';
import { PeerLink, PeerServer, type PeerSession, type SessionIdentity } from '../transport/index.js';
import { JobPushReader, PhoneGrants } from '../grants/index.js';
import { ContentService } from '../content/index.js';
import { distributedModelPaths, startStageService, withDistributedModels, type StageFinder, type StageService } from '../distributed/index.js';
import { withSettlement, type SettlingNodeStore } from './node-settlement.js';
import { openNodeJobPayer, type NodeJobPayer } from '../payments/node-job-payer.js';
import { withClientLedger } from '../payments/terms/ledgered-job-payer.js';
import { startClientRefundSweep, type ExpiredEscrowSweep } from '../payments/refund/expired-escrow-sweep.js';
import { startNodeNwc, type NwcWalletService } from '../payments/nwc/index.js';
import { outcomeReportOf, ReputationFeedReader, startNodeReputation, type ReputationService } from '../reputation/index.js';
import { VerdictWitness, type VerificationListener, type VerificationOutcome } from '../verification/index.js';
import { AggregatorService } from '../aggregator/aggregator-service.js';
import { DaemonStateWriter, removeDaemonState, type DaemonPeer, type DaemonState } from './daemon-state.js';
import { ModelCatalog } from '../models/model-catalog.js';
import { openNodeStore } from './node-store.js';
import { aggregatorCandidateOf, rankAggregators, readAggregatorReputation } from '../client/index.js';
import { AggregatorDiscovery, DiscoveredProviderLinks } from '../discovery/index.js';
import { NodeDiscovery } from './node-discovery.js';
import { findStageWorkers, stageOfferOf } from '../distributed/stage-discovery.js';
import { ProviderService } from '../provider/provider-service.js';
import { openProviderRuntime, type ProviderRuntime } from '../provider/provider-runtime.js';

export const AGENT = 'infernet/0.1.0';
/** A job for a model no connected provider serves waits this long for links to providers found in the DHT. */
const DISCOVERED_LINK_WAIT_MS = 5_000;
const DISCOVERED_PROVIDERS_PER_LOOKUP = 5;
/** A job that needs discovery (a head's stage lookup) and comes in while it starts waits this long for it. */
const DISCOVERY_START_WAIT_MS = 20_000;
/** A client daemon reads its own jobs' experience of aggregators again after this long (each API request ranks them). */
const AGGREGATOR_REPUTATION_TTL_MS = 30_000;

/** A promise and what settles it (Promise.withResolvers, which this TypeScript library target lacks). */
function startSignal(): { promise: Promise<void>; resolve: () => void } {
  let resolve: () => void = () => undefined;
  const promise = new Promise<void>((settle) => (resolve = settle));
  return { promise, resolve };
}

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
  /** What follows from the jobs' lives (metrics, phone pushes, payments) reads their persisted events here. */
  readonly feed: JobEventFeed;
  private readonly stateWriter: DaemonStateWriter;
  readonly aggregator?: AggregatorService;
  readonly provider?: ProviderService;
  /** This node's Prometheus registry, served at /metrics on the API port. */
  readonly metrics = new NodeMetrics();
  private readonly netTests: NetTestResponder;
  /** An aggregator's record of the runs it relayed and the verdicts on them (src/verification). */
  private readonly witness?: VerdictWitness;
  /** Outcome events: kept, published to relays and gossip, and scored for ranking (src/reputation). */
  reputation?: ReputationService;
  private readonly phoneGrants: PhoneGrants;
  private metricsServer?: MetricsServer;
  private server?: PeerServer;
  private api?: ApiServer;
  /** Batch jobs submitted to this aggregator's store (src/batch). */
  private batches?: RunningBatchService;
  /** The desktop and browser interface, served on the API's port. */
  private appGateway?: AppGateway;
  private readonly links: PeerLink[] = [];
  private signedPayout?: { text: string; event: NostrEvent };
  /** WebSocket links, or libp2p job-stream links to providers behind NAT (src/nat). */
  /** A link whose session with its provider is open is kept when that provider's record names another endpoint. */
  private readonly discoveredLinks = new DiscoveredProviderLinks<Pick<PeerLink, 'session' | 'stop'>>(
    (endpoint) => this.openDiscoveredLink(endpoint),
    undefined,
    (link, pubkey) => link.session?.isOpen === true && link.session.peer?.pubkey === pubkey,
  );
  private discovery?: NodeDiscovery;
  /** Settles once startDiscovery has finished, started or not: what arrives while it starts can wait for it. */
  private readonly discoveryStartFinished = startSignal();
  /** This aggregator's record in discovery, while discovery runs. */
  private aggregatorRecord?: AggregatorDiscovery;
  private aggregatorReputation?: { readAt: number; of: (pubkey: string) => number };
  /** Serves and provides the content in <home>/content on the discovery node (src/content). */
  private content?: ContentService;
  private readonly peers = new Map<PeerSession, DaemonPeer>();
  private readonly startedAt = new Date().toISOString();
  /** RPC stages this provider runs for heads (config distributed.worker). */
  private stages?: StageService;
  /** This node's LND served over Nostr Wallet Connect (payments.nwc). */
  private nwc?: NwcWalletService;
  /** Pays the jobs this node submits through its API and batches, when its payments section can pay. */
  private clientPayer?: NodeJobPayer;
  /** Refunds this node's escrow deposits left unsettled past their deadline (src/payments/refund). */
  private refundSweep?: ExpiredEscrowSweep;

  private constructor(
    private readonly options: NodeDaemonOptions,
    private readonly runtime: ProviderRuntime | undefined,
    private readonly catalog: ModelCatalog | undefined,
    private readonly nodeStore: SettlingNodeStore,
  ) {
    this.stateWriter = new DaemonStateWriter(options.home.daemonStateFile, () => this.daemonState());
    const engine = runtime?.engine;
    const { config, logger } = options;
    const roles = rolesOf(config.role);
    // Paired phones (`infernet pair`) submit within their grants; push tokens they register are kept here too,
    // and the job event feed pushes the end of their jobs to them.
    this.phoneGrants = new PhoneGrants(options.home.dir, options.key.publicKey, logger.child({ component: 'grants' }));
    this.store = nodeStore.store;
    this.feed = new JobEventFeed({ store: this.store, cursors: nodeStore.cursors, logger });
    this.feed.follow(new JobMetricsReader(this.metrics));
    this.metrics.renderAfter(() => this.feed.caughtUp());
    if (config.mobile.push) this.feed.follow(new JobPushReader({ pushUrl: config.mobile.pushUrl, tokensOf: (client) => this.phoneGrants.pushTokensOf(client), logger: logger.child({ component: 'push' }) }));
    for (const reader of nodeStore.feedReaders ?? []) this.feed.follow(reader);
    this.netTests = new NetTestResponder({ maxFrameBytes: config.limits.maxFrameBytes });
    if (roles.aggregator) {
      this.witness = new VerdictWitness({ store: this.store, logger: logger.child({ component: 'verification' }) });
      // Ratings follow from the runs' persisted verdicts, through the feed (a rating due at a crash is made after it).
      this.feed.follow(new ReputationFeedReader((outcome) => this.recordVerification(outcome)));
    }
    const payments = nodeStore.payments;
    if (roles.aggregator) this.aggregator = new AggregatorService({ store: this.store, logger, key: options.key, offerWaitMs: config.aggregator.offerWaitSeconds * 1000, discoverProviders: (model) => this.discoverProviders(model), admitJob: (client, request) => this.phoneGrants.admit(client, request), ...this.verificationHooks(), ...(payments?.aggregator ? { payments: payments.aggregator } : {}) });
    if (roles.provider && catalog) {
      this.provider = new ProviderService({
        key: options.key,
        ...(engine ? { engine } : { refusal: runtime?.refusal ?? 'no engine' }),
        catalog,
        store: this.store,
        slots: config.provider.slots,
        ...(config.provider.price ? { price: config.provider.price } : {}),
        logger,
        fingerprintTopK: config.verification.fingerprintTopK,
        maxModelFetchBytes: config.provider.maxModelFetchBytes,
        fetchModel: (model, report) => {
          if (!this.content) throw new Error(`model ${model.name} is named by content id but this node fetches no content: enable discovery (init --discovery or --bootstrap)`);
          return this.content.fetchModel(model, report);
        },
        ...(payments?.provider ? { payments: payments.provider } : {}),
      });
    }
    this.metrics.observePeers(() => [...this.peers.values()]);
    this.metrics.observeNatUpgrades(() => this.discovery?.natStatus()?.upgrades);
    if (this.provider) this.metrics.observeProviderLoad(() => this.provider!.load);
  }

  static async start(options: NodeDaemonOptions): Promise<NodeDaemon> {
    const { config, logger } = options;
    const roles = rolesOf(config.role);
    const catalog = roles.provider ? await ModelCatalog.fromPaths([...new Set([...config.models, ...distributedModelPaths(config)])]) : undefined;
    let started: NodeDaemon | undefined;
    const baseRuntime = roles.provider ? (options.engine ? { engine: options.engine } : await openProviderRuntime(config, options.key.publicKey, logger, { onEngineChange: () => void started?.saveState() })) : undefined;
    // Models of `distributed.models` run split across other providers' stages (src/distributed).
    // A head whose model says `workers: discover` asks the discovery this daemon starts below.
    // The job listener opens before discovery has started: a job that comes in between waits for it (bounded).
    const findStages: StageFinder | undefined = config.discovery.enabled ? async (need) => findStageWorkers(await started?.discoveryServiceWithin(DISCOVERY_START_WAIT_MS), options.key.publicKey, need, logger) : undefined;
    const runtime = baseRuntime?.engine ? { ...baseRuntime, engine: await withDistributedModels(baseRuntime.engine, { config, home: options.home, key: options.key, logger, ...(findStages ? { findStageWorkers: findStages } : {}) }) } : baseRuntime;
    const openedStore = options.store
      ? { store: options.store, cursors: new FileFeedCursors(options.home.feedCursorsFile), location: 'in memory', close: () => options.store!.close() }
      : await openNodeStore(options.home, config, logger);
    // Payments follow from job transitions: an aggregator with payments.evm settles each job's escrow (src/payments).
    const nodeStore = await withSettlement(openedStore, { home: options.home, config, logger });
    await resumeJobsAfterRestart(nodeStore.store, logger);
    const daemon = new NodeDaemon(options, runtime, catalog, nodeStore);
    started = daemon;
    // Verification outcomes decide whether a completed job's escrow is released (paid unless found wrong).
    nodeStore.attachSettlement?.({ onVerification: (listener) => daemon.onVerification(listener), metrics: daemon.metrics });
    if (roles.aggregator) daemon.reputation = await startNodeReputation({ home: options.home, config, key: options.key, logger, ...(nodeStore.pocketbase ? { pocketbase: nodeStore.pocketbase } : {}) });
    // Readers with a persisted place go on from it: a payment, a push or a rating due when the node last stopped is made now.
    await daemon.feed.start();
    // Runs that waited for their verdict when the aggregator last stopped wait again, until their persisted
    // deadlines, before any client can reach it; those whose window closed meanwhile are settled now.
    await daemon.witness?.resumeVerifying();
    if (catalog && runtime?.engine) await daemon.preloadModels(catalog, runtime.engine);
    if (roles.provider || roles.aggregator) await daemon.listen();
    daemon.stages = await startStageService({ config, key: options.key, logger, home: options.home });
    daemon.dialConfiguredPeers();
    await daemon.openClientPayer();
    await daemon.startBatches();
    if (config.discovery.enabled) await daemon.startDiscovery().finally(() => daemon.discoveryStartFinished.resolve());
    // A port already taken fails the start: stop what started, so no store or child process outlives it.
    await daemon.startApi().catch(async (error: unknown) => {
      await daemon.stop();
      throw error;
    });
    // Nostr Wallet Connect: the node's LND served to the wallet apps its operator connected (src/payments/nwc).
    daemon.nwc = await startNodeNwc({ home: options.home, config, logger }).catch(async (error: unknown) => {
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

  /** The Prometheus endpoint while one serves. */
  get metricsUrl(): string | null {
    return this.api ? `${this.api.url}${METRICS_PATH}` : (this.metricsServer?.url ?? null);
  }

  async stop(): Promise<void> {
    await this.witness?.stop();
    this.nwc?.stop();
    this.clientPayer?.close();
    await this.refundSweep?.stop();
    await this.reputation?.stop();
    await this.batches?.stop();
    // The interface's sockets first: upgraded connections are not the HTTP server's to close.
    await this.appGateway?.close();
    await this.api?.close();
    await this.metricsServer?.close();
    await this.content?.stop();
    await this.aggregatorRecord?.stop();
    await this.discovery?.stop().catch((error: Error) => this.options.logger.warn({ err: error.message }, 'discovery did not stop cleanly'));
    for (const link of this.links) link.stop();
    this.discoveredLinks.stopAll();
    await this.server?.close();
    await this.stages?.close();
    await this.runtime?.engine?.close();
    await this.feed.close();
    await this.nodeStore.close();
    if (this.options.writeState !== false) await removeDaemonState(this.options.home.daemonStateFile);
    this.options.logger.info('node stopped');
  }

  /**
   * The payer of the jobs the node submits itself. A payments section that cannot pay (its chain unreachable, say)
   * does not stop the node: its API and batches then run only free jobs, and the reason is logged.
   */
  private async openClientPayer(): Promise<void> {
    const { home, config, logger } = this.options;
    const opened = await openNodeJobPayer({ home, config, logger }).catch((error: Error) => {
      logger.error({ err: error.message, name: error.name }, 'jobs from the API and batches cannot pay: only free jobs will run');
      return undefined;
    });
    if (opened) this.clientPayer = { ...opened, payer: withClientLedger(opened.payer, this.nodeStore.pocketbase, logger) };
    if (opened) {
      this.refundSweep = await startClientRefundSweep({ home, config, pocketbase: this.nodeStore.pocketbase, logger }).catch((error: Error) => {
        logger.warn({ err: error.message }, 'expired escrow deposits are not refunded automatically: run `infernet wallet refund`');
        return undefined;
      });
    }
  }

  /** An aggregator runs the batches submitted to its store, each request as a job through its own endpoint. */
  private async startBatches(): Promise<void> {
    const { config, home, key, logger } = this.options;
    const aggregator = this.aggregator;
    if (!aggregator || !this.url) return;
    const batches = await startBatchService({ home, config, key, agent: AGENT, aggregatorUrl: this.url, logger: logger.child({ component: 'batch' }), providers: () => aggregator.providerLoads(), ...(this.clientPayer ? { payer: this.clientPayer.payer } : {}) });
    if (batches) this.batches = batches;
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
      onBytes: (direction, bytes) => this.metrics.transportBytes.inc({ direction }, bytes),
    };
  }

  private capabilities(): ProviderCapabilities | undefined {
    if (!this.provider || !this.catalog) return undefined;
    const price = this.options.config.provider.price;
    const engine = this.provider.engineId;
    // Known from the configuration, since hellos to configured peers go out before discovery (and content) start.
    const fetchesModels = this.options.config.discovery.enabled;
    const payout = this.nodeStore.payments?.payout;
    const payoutStatement = this.payoutStatement();
    return { models: this.catalog.offers(), slots: this.provider.slots, ...(engine ? { engine } : {}), ...(price ? { price } : {}), ...(fetchesModels ? { fetchesModels } : {}), ...(payout && Object.keys(payout).length ? { payout } : {}), jobKinds: this.provider.jobKinds, ...(payoutStatement ? { payoutStatement } : {}) };
  }

  /** The provider's price and payout signed by its key (what a client pays by), signed again only when they change. */
  private payoutStatement(): NostrEvent | undefined {
    const price = this.options.config.provider.price;
    const payments = this.nodeStore.payments;
    if (!price || !payments?.payout) return undefined;
    const statement = { price, ...(payments.payout.evm ? { evm: payments.payout.evm } : {}), ...(payments.lightningNodeKey ? { lightningNodeKey: payments.lightningNodeKey } : {}) };
    const text = JSON.stringify(statement);
    if (this.signedPayout?.text !== text) this.signedPayout = { text, event: signPayoutStatement(this.options.key, statement) };
    return this.signedPayout.event;
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
    this.netTests.attach(session); // any authenticated peer may measure its link to this node
    const role = session.peer?.role;
    if (role === 'client' && this.aggregator) {
      this.aggregator.addClient(session);
      this.phoneGrants.attach(session);
    }
    else if (role === 'aggregator' && this.provider) this.provider.attach(session);
    // A provider without a public port dials its aggregator: it serves jobs over that connection.
    else if (role === 'provider' && this.aggregator) this.aggregator.addProvider(session);
    else {
      // Kept open for network tests only: the first frame of any other kind is refused and closes it.
      session.onFrame((frame) => {
        if (isNetTestFrame(frame)) return;
        session.sendError('unauthenticated', `this node (${this.options.config.role}) does not serve ${role} peers`);
        session.close('role not served');
      });
      return;
    }
    this.track(session);
  }

  /** Joins the DHT: a provider announces itself, an aggregator links to every provider it learns of. */
  private async startDiscovery(): Promise<void> {
    const { config, key, logger } = this.options;
    this.discovery = await NodeDiscovery.start({
      config,
      key,
      ...(this.reputation ? { reputationOf: (pubkey: string) => this.reputation?.scoreOf(pubkey) } : {}),
      logger: logger.child({ component: 'discovery' }),
      agent: AGENT,
      endpoint: this.url,
      ...(this.provider && this.catalog ? { provider: { service: this.provider, catalog: this.catalog, ...(this.runtime?.state ? { engineState: this.runtime.state } : {}) } } : {}),
      ...(this.aggregator
        ? {
            onProviderFound: (endpoint: string, pubkey: string) => this.linkToDiscoveredProvider(endpoint, pubkey),
            onProviderLost: (_endpoint: string, pubkey: string) => this.discoveredLinks.forget(pubkey),
          }
        : {}),
      onChange: () => void this.saveState(),
      homeDir: this.options.home.dir,
      stageOffer: (jobEndpoint) => stageOfferOf(config, this.stages, jobEndpoint),
      jobStreams: { identity: this.identity(config.role), limits: config.limits, onSession: (session) => this.acceptSession(session) },
    });
    // Stages are reached over libp2p too: a head that cannot dial this provider's ws:// listener (NAT) still can.
    await this.stages?.serveOverLibp2p(this.discovery.service.libp2p);
    this.reputation?.attachGossip(this.discovery.service);
    if (this.aggregator && this.url) await this.announceAggregator(this.aggregator, this.url);
    this.content = await ContentService.start({ libp2p: this.discovery.service.libp2p, homeDir: this.options.home.dir, logger });
  }

  /** Clients that know only a bootstrap peer find this aggregator by its signed record (src/discovery). */
  private async announceAggregator(aggregator: AggregatorService, endpoint: string): Promise<void> {
    const { config, logger } = this.options;
    this.aggregatorRecord = new AggregatorDiscovery(this.discovery!.service, { logger: logger.child({ component: 'discovery' }) });
    await this.aggregatorRecord.start();
    this.aggregatorRecord.announce({
      endpoint,
      feeBps: config.payments?.feeBps ?? 0,
      software: { infernet: AGENT },
      snapshot: () => {
        const loads = aggregator.providerLoads();
        return { models: aggregator.availableModels(), load: { providers: loads.length, activeJobs: loads.reduce((sum, load) => sum + load.activeJobs, 0) } };
      },
    });
  }

  /** A client daemon that names no aggregator and runs discovery finds them; any other node has its fixed list. */
  private discoverAggregatorsOption(): { discoverAggregators?: () => Promise<string[]> } {
    const { config } = this.options;
    return this.aggregator || config.connect.length || !config.discovery.enabled ? {} : { discoverAggregators: () => this.discoveredAggregatorUrls() };
  }

  /**
   * For a client daemon that names no aggregator: those whose signed records discovery brought (gossip, or a lookup
   * when none is known yet), ranked as `infernet submit` ranks them. Followed from the first request on.
   */
  private async discoveredAggregatorUrls(): Promise<string[]> {
    const service = this.discovery?.service;
    if (!service?.isStarted) return [];
    if (!this.aggregatorRecord) {
      this.aggregatorRecord = new AggregatorDiscovery(service, { logger: this.options.logger.child({ component: 'discovery' }) });
      await this.aggregatorRecord.start();
    }
    const known = this.aggregatorRecord.list();
    const found = known.length ? known : await this.aggregatorRecord.findAggregators();
    const reputationOf = await this.clientAggregatorReputation();
    return rankAggregators(found.map((aggregator) => aggregatorCandidateOf(aggregator, reputationOf))).map((candidate) => candidate.endpoint);
  }

  /** How this node's own client jobs went at each aggregator (over the network's score), read at most every 30 s. */
  private async clientAggregatorReputation(): Promise<(pubkey: string) => number> {
    const cached = this.aggregatorReputation;
    if (cached && Date.now() - cached.readAt < AGGREGATOR_REPUTATION_TTL_MS) return cached.of;
    const of = await readAggregatorReputation(this.store, (pubkey) => this.reputation?.scoreOf(pubkey));
    this.aggregatorReputation = { readAt: Date.now(), of };
    return of;
  }

  /** The libp2p discovery service while discovery runs. */
  get discoveryService(): NodeDiscovery['service'] | undefined {
    return this.discovery?.service;
  }

  /** The discovery service, waiting up to `ms` for one still starting; undefined if there is none by then. */
  async discoveryServiceWithin(ms: number): Promise<NodeDiscovery['service'] | undefined> {
    if (!this.discovery) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([this.discoveryStartFinished.promise, new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
      clearTimeout(timer);
    }
    return this.discovery?.service;
  }

  /** Verification outcomes of the runs this aggregator relayed (what payments settle on); returns an unsubscribe. */
  onVerification(listener: VerificationListener): () => void {
    return this.witness?.onVerification(listener) ?? (() => undefined);
  }

  private verificationHooks() {
    return {
      ...(this.witness ? { witness: this.witness } : {}),
      reputationOf: (pubkey: string) => this.reputation?.scoreOf(pubkey),
      onResultRefused: (reason: string) => this.metrics.verificationFailures.inc({ reason }),
    };
  }

  /** A wrong result counts as a verification failure; every outcome becomes a signed, published outcome event. */
  private async recordVerification(outcome: VerificationOutcome): Promise<void> {
    if (outcome.verdict === 'failed') this.metrics.verificationFailures.inc({ reason: 'wrong_output' });
    await this.reputation?.record(outcomeReportOf(outcome)).catch((error: Error) => this.options.logger.warn({ err: error.message, jobId: outcome.runJobId }, 'cannot record the job outcome'));
  }

  /** Finds providers of a model in the DHT and links to them, waiting a moment for a session to one of them. */
  private async discoverProviders(model: string): Promise<void> {
    if (!this.discovery) return;
    const found = await this.discovery.service.findProviders({ model, limit: DISCOVERED_PROVIDERS_PER_LOOKUP }).catch((error: unknown) => {
      this.metrics.dhtLookups.inc({ outcome: 'error' });
      throw error;
    });
    this.metrics.dhtLookups.inc({ outcome: found.length ? 'found' : 'none' });
    const others = found.filter((provider) => provider.record.endpoint !== this.url);
    for (const provider of others) this.linkToDiscoveredProvider(provider.record.endpoint, provider.pubkey);
    const endpoints = others.map((provider) => provider.record.endpoint);
    const connected = () => endpoints.some((endpoint) => this.discoveredLinks.get(endpoint)?.session?.isOpen);
    for (const deadline = Date.now() + DISCOVERED_LINK_WAIT_MS; endpoints.length && !connected() && Date.now() < deadline; ) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** One link per provider, at its newest record's endpoint, a bounded number in all (src/discovery). */
  private linkToDiscoveredProvider(endpoint: string, pubkey: string): void {
    if (endpoint === this.url || this.options.config.connect.includes(endpoint) || this.discovery?.isOwnEndpoint(endpoint)) return;
    if (this.discoveredLinks.follow(pubkey, endpoint) === 'full') this.options.logger.debug({ endpoint, pubkey }, 'not linking to a discovered provider: this aggregator holds its most discovered links');
  }

  private openDiscoveredLink(endpoint: string): Pick<PeerLink, 'session' | 'stop'> {
    const overLibp2p = this.discovery?.linkToProvider(endpoint, {
      identity: this.identity('aggregator'),
      limits: this.options.config.limits,
      onSession: (session) => {
        this.aggregator?.addProvider(session);
        this.track(session);
        this.followPendingOnClose(session);
      },
    });
    return overLibp2p ?? this.linkTo(endpoint, 'aggregator', (session) => this.followPendingOnClose(session));
  }

  /** A kept link that lost its session: its provider's newest record's endpoint is followed now. */
  private followPendingOnClose(session: PeerSession): void {
    session.onClose(() => this.discoveredLinks.followPending());
  }

  private linkTo(url: string, sessionRole: 'aggregator' | 'provider', onSession?: (session: PeerSession) => void): PeerLink {
    const { config, logger } = this.options;
    const link = new PeerLink(url, {
      identity: this.identity(sessionRole),
      limits: config.limits,
      logger,
      onSession: (session) => {
        if (this.aggregator) this.aggregator.addProvider(session);
        else this.provider?.attach(session);
        this.track(session);
        onSession?.(session);
      },
    });
    link.start();
    return link;
  }

  private dialConfiguredPeers(): void {
    const { config } = this.options;
    const targets = [...config.connect];
    // The embedded all-in-one node routes to its own provider through the same path as to any other.
    if (config.role === 'all' && this.url) targets.push(this.url);
    if (config.role === 'client') return; // clients dial per job (`infernet submit`)
    const sessionRole = this.aggregator ? 'aggregator' : 'provider';
    for (const url of targets) this.links.push(this.linkTo(url, sessionRole));
  }

  /** The HTTP API runs jobs as a client: through the configured aggregators, or an all-in-one node's own. */
  private async startApi(): Promise<void> {
    const { config, home, key, logger } = this.options;
    if (config.api.port === null) return;
    if (config.role !== 'client' && config.role !== 'all') {
      logger.info({ role: config.role }, 'api.port is set but this role has no client side: only /metrics is served there');
      this.metricsServer = await startMetricsServer({ host: config.api.host, port: config.api.port, metrics: this.metrics, logger });
      return;
    }
    const aggregator = this.aggregator;
    this.appGateway = await this.openAppGateway();
    this.api = await startApiServer({
      host: config.api.host,
      port: config.api.port,
      keysFile: apiKeysFileOf(home, config),
      key,
      agent: AGENT,
      limits: config.limits,
      logger: logger.child({ component: 'api' }),
      aggregators: aggregator && this.url ? [this.url] : config.connect,
      ...this.discoverAggregatorsOption(),
      ...(this.clientPayer ? { payer: this.clientPayer.payer } : {}),
      ...(aggregator ? { localModels: () => aggregator.modelOffers() } : {}),
      store: this.store,
      responsesDir: join(home.dir, 'responses'),
      conversationsDir: join(home.dir, 'conversations'),
      chatCompletionsDir: join(home.dir, 'chat-completions'),
      metrics: this.metrics,
      app: this.appGateway,
      verification: config.verification.defaultPolicy,
      ...(this.batches ? { batches: { store: this.batches.store, filesDir: join(home.dir, 'files') } } : {}),
    });
  }

  private openAppGateway(): Promise<AppGateway> {
    const { config, home, key, logger } = this.options;
    const aggregator = this.aggregator;
    return AppGateway.open({
      homeDir: home.dir,
      keysFile: apiKeysFileOf(home, config),
      key,
      node: { npub: key.npub, publicKey: key.publicKey, role: config.role, agent: AGENT, url: this.url, startedAt: this.startedAt },
      logger: logger.child({ component: 'app-gateway' }),
      pocketBaseUrl: this.nodeStore.location.startsWith('http') ? this.nodeStore.location : null,
      aggregators: aggregator && this.url ? [this.url] : config.connect,
      ...this.discoverAggregatorsOption(),
      agent: AGENT,
      limits: config.limits,
      store: this.store,
      ...(this.clientPayer ? { payer: this.clientPayer.payer } : {}),
      modelPaths: this.catalog?.paths ?? [],
      ...(aggregator ? { localModels: () => aggregator.availableModels() } : {}),
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

  /** Rewrites daemon.json (peers, discovery, engines), which `infernet status` and `submit` read. */
  async saveState(): Promise<void> {
    if (this.options.writeState === false) return;
    await this.stateWriter.save().catch((error: Error) => this.options.logger.warn({ err: error.message }, 'cannot write daemon state'));
  }

  private daemonState(): DaemonState {
    return {
      pid: process.pid,
      url: this.url,
      role: this.options.config.role,
      npub: this.options.key.npub,
      startedAt: this.startedAt,
      peers: [...this.peers.values()],
      ...(this.discovery ? { peerId: this.discovery.peerId, multiaddrs: this.discovery.multiaddrs(), providers: this.discovery.providers() } : {}),
      ...(this.discovery?.natStatus() ? { nat: this.discovery.natStatus() } : {}),
      ...(this.api ? { api: this.api.url } : {}),
      ...(this.metricsUrl ? { metrics: this.metricsUrl } : {}),
      ...(this.runtime?.state ? { engine: this.runtime.state() } : {}),
      ...(this.runtime?.refusal ? { refusal: this.runtime.refusal } : {}),
    };
  }
}
