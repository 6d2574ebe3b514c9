// The daemon's part in discovery: a provider announces its signed record with its job endpoint; an aggregator
// keeps a job link to every provider it learns of, and drops it when the provider leaves or goes silent.
import type { NodeConfig } from '../config/index.js';
import { detectHardware, DiscoveryService, summariseHardware, type KnownProvider, type StageOffer } from '../discovery/index.js';
import type { NodeKey } from '../identity/index.js';
import type { Logger } from '../log/index.js';
import { PROTOCOL_VERSION, type JobKind } from '../protocol/index.js';
import { chooseJobEndpoint, JobStreamLink, peerIdOfEndpoint, ReachabilityTracker, serveJobStreams, type NatStatus } from '../nat/index.js';
import { latencyByPeer, netTestsFileOf, readNetTestResults } from '../network-test/index.js';
import type { PeerSession, SessionIdentity } from '../transport/index.js';
import type { TransportLimits } from '../config/index.js';
import type { ModelCatalog } from '../models/model-catalog.js';
import type { ProviderService } from '../provider/provider-service.js';
import type { ProviderEngineState } from '../provider/provider-runtime.js';

export interface ProviderSummary {
  pubkey: string;
  peerId: string;
  endpoint: string;
  models: string[];
  slots: number;
  activeJobs: number;
  gpus: number;
  /** The accelerator its jobs run on, as its signed record says: cpu, cuda, vulkan, metal or rocm, and the device. */
  backend?: string;
  device?: string;
  latencyMs?: number;
  /** Where it runs RPC stages for heads, when it offers them. */
  stages?: { endpoint: string; openToAnyHead: boolean };
  lastSeenAt: number;
}

export interface NodeDiscoveryOptions {
  config: NodeConfig;
  key: NodeKey;
  logger: Logger;
  agent: string;
  /** This node's job listener, announced to others (providers only). */
  endpoint: string | null;
  /** `engineState`: the runtime's sandbox and accelerator backend, announced in the signed record. */
  provider?: { service: ProviderService; catalog: ModelCatalog; engineState?: () => ProviderEngineState | undefined };
  /** Called when an aggregator should (or should no longer) keep a job link to a provider's endpoint. */
  onProviderFound?: (endpoint: string, pubkey: string) => void;
  onProviderLost?: (endpoint: string, pubkey: string) => void;
  onChange?: () => void;
  /** A provider's reputation in [0, 1] for ranking lookups (src/reputation). */
  reputationOf?: (pubkey: string) => number | undefined;
  /** The node home: `net-tests.jsonl` there feeds provider ranking's latency. */
  homeDir?: string;
  /** The RPC stages this provider runs for other heads, announced in its record (src/distributed). */
  /** The stage offer for a record whose job endpoint is `jobEndpoint` (libp2p:// behind NAT). */
  stageOffer?: (jobEndpoint: string) => StageOffer | undefined;
  /** Serve the job protocol on libp2p streams too, so peers reach this node through relays. */
  jobStreams?: { identity: SessionIdentity; limits: TransportLimits; onSession: (session: PeerSession) => void };
}

/** Address changes (a relay reservation made or lost) settle for this long before the record is re-announced. */
const REANNOUNCE_DEBOUNCE_MS = 500;
const STORED_LATENCY_REFRESH_MS = 60_000;

export class NodeDiscovery {
  private tracker?: ReachabilityTracker;
  private storedLatency = new Map<string, number>();
  private announced?: { endpoint: string; addresses: string };
  private reannounceTimer?: NodeJS.Timeout;
  private latencyTimer?: NodeJS.Timeout;

  private constructor(
    readonly service: DiscoveryService,
    private readonly options: NodeDiscoveryOptions,
  ) {}

  static async start(options: NodeDiscoveryOptions): Promise<NodeDiscovery> {
    const { discovery } = options.config;
    const { nat } = discovery;
    let node: NodeDiscovery | undefined;
    const service = new DiscoveryService({
      key: options.key,
      logger: options.logger,
      listen: discovery.listen,
      bootstrap: discovery.bootstrap,
      allow: discovery.allow,
      ...(discovery.announce ? { announce: discovery.announce } : {}),
      ...(options.reputationOf ? { reputationOf: options.reputationOf } : {}),
      nat: {
        ...(nat.relayServer ? { relayServer: nat } : {}),
        ...(nat.relayServer ? { relayClient: false } : nat.relayClient !== undefined ? { relayClient: nat.relayClient } : {}),
        holePunch: nat.holePunch,
        stunPort: nat.stunPort,
        ...(nat.webrtc !== undefined ? { webrtc: nat.webrtc } : {}),
        ...(nat.stunServers ? { stunServers: nat.stunServers } : {}),
      },
      storedLatencyOf: (pubkey) => node?.storedLatency.get(pubkey),
    });
    node = new NodeDiscovery(service, options);
    node.follow();
    await node.refreshStoredLatency();
    await service.start();
    node.tracker = new ReachabilityTracker(service.libp2p, () => ({ reservations: service.relay?.service.reservations.size ?? 0, refusals: service.relay?.policy.refusals ?? 0 }));
    if (options.jobStreams) await serveJobStreams(service.libp2p, { ...options.jobStreams, logger: options.logger });
    if (options.provider && options.endpoint) {
      const announced = node.announce(options.provider, options.endpoint);
      // The first node of a network has nobody to store its DHT pointers with: the provide can only run into its
      // timeout (a minute), so the daemon's start does not wait for it; gossip and record fetches still find it.
      if (service.libp2p.getConnections().length > 0) await announced;
      else void announced.catch((error: Error) => options.logger.warn({ err: error.message }, 'announcing the provider record failed'));
    }
    node.watchAddresses();
    return node;
  }

  /** Reachability (public, relayed, direct-upgraded, private), relays in use and connection paths. */
  natStatus(): NatStatus | undefined {
    return this.tracker?.status();
  }

  /** Whether an endpoint is this node's own (its libp2p:// one; its WebSocket URL the daemon knows). */
  isOwnEndpoint(endpoint: string): boolean {
    return peerIdOfEndpoint(endpoint) === this.service.peerId;
  }

  /** A link that keeps a job session to a libp2p:// provider, dialled at the addresses of its latest record. */
  linkToProvider(endpoint: string, options: { identity: SessionIdentity; limits: TransportLimits; onSession: (session: PeerSession) => void }): JobStreamLink | undefined {
    const peerId = peerIdOfEndpoint(endpoint);
    if (!peerId) return undefined;
    const addresses = () => this.service.knownProviders().find((known) => known.peerId === peerId)?.record.addresses ?? [];
    const link = new JobStreamLink(this.service.libp2p, peerId, { ...options, logger: this.options.logger, addresses });
    link.start();
    return link;
  }

  multiaddrs(): string[] {
    return this.service.multiaddrs();
  }

  get peerId(): string {
    return this.service.peerId;
  }

  providers(): ProviderSummary[] {
    return this.service.knownProviders().map(summaryOf);
  }

  async stop(): Promise<void> {
    clearTimeout(this.reannounceTimer);
    clearInterval(this.latencyTimer);
    this.tracker?.stop();
    if (this.options.provider) await this.service.withdraw().catch(() => undefined);
    await this.service.stop();
  }

  private async announce(provider: NonNullable<NodeDiscoveryOptions['provider']>, wsEndpoint: string): Promise<void> {
    const { config } = this.options;
    const choice = chooseJobEndpoint({ mode: config.discovery.nat.reachability, wsEndpoint, peerId: this.service.peerId, addresses: this.multiaddrs() });
    this.announced = { endpoint: choice.endpoint, addresses: (choice.addresses ?? []).join(' ') };
    const stages = this.options.stageOffer?.(choice.endpoint);
    await this.service.announce({
      hardware: summariseHardware(await detectHardware()),
      models: provider.catalog.offers(),
      endpoint: choice.endpoint,
      ...(choice.addresses ? { addresses: choice.addresses } : {}),
      slots: provider.service.slots,
      ...(config.provider.price ? { price: config.provider.price } : {}),
      software: { infernet: this.options.agent, engine: provider.service.engineId ?? 'none', ...acceleratorOf(provider.engineState?.()) },
      protocolVersion: PROTOCOL_VERSION,
      load: () => provider.service.load,
      ...(stages ? { stages } : {}),
      ...(announcedJobKinds(provider.service.jobKinds) ?? {}),
    });
  }

  /**
   * A relay reservation made or lost changes our addresses: a provider re-announces when its endpoint or relayed
   * addresses change, and daemon.json follows the reachability.
   */
  private watchAddresses(): void {
    const settle = () => {
      clearTimeout(this.reannounceTimer);
      this.reannounceTimer = setTimeout(() => void this.reannounceIfMoved(), REANNOUNCE_DEBOUNCE_MS);
      this.reannounceTimer.unref();
    };
    // Connections opening and closing change the reported paths (relayed, upgraded) but never the endpoint.
    for (const event of ['self:peer:update', 'connection:open', 'connection:close'] as const) this.service.libp2p.addEventListener(event, settle);
  }

  private async reannounceIfMoved(): Promise<void> {
    const { provider, endpoint, config, logger, onChange } = this.options;
    onChange?.();
    if (!provider || !endpoint || !this.service.isStarted || !this.announced) return;
    const choice = chooseJobEndpoint({ mode: config.discovery.nat.reachability, wsEndpoint: endpoint, peerId: this.service.peerId, addresses: this.multiaddrs() });
    if (choice.endpoint === this.announced.endpoint && (choice.addresses ?? []).join(' ') === this.announced.addresses) return;
    logger.info({ endpoint: choice.endpoint, addresses: choice.addresses ?? [] }, 'job endpoint moved: announcing it');
    await this.announce(provider, endpoint).catch((error: Error) => logger.warn({ err: error.message }, 're-announcing the moved endpoint failed'));
  }

  private async refreshStoredLatency(): Promise<void> {
    const { homeDir, logger } = this.options;
    if (!homeDir) return;
    const load = async () => {
      this.storedLatency = latencyByPeer(await readNetTestResults(netTestsFileOf(homeDir)).catch((error: Error) => {
        logger.warn({ err: error.message }, 'cannot read stored net tests');
        return [];
      }));
    };
    await load();
    this.latencyTimer = setInterval(() => void load(), STORED_LATENCY_REFRESH_MS);
    this.latencyTimer.unref();
  }

  /** Aggregators link to providers as they are found; everyone keeps daemon.json's provider list current. */
  private follow(): void {
    const { onProviderFound, onProviderLost, onChange, key } = this.options;
    const found = (known: KnownProvider) => {
      if (known.pubkey !== key.publicKey) onProviderFound?.(known.record.endpoint, known.pubkey);
      onChange?.();
    };
    this.service.on('provider:added', found);
    this.service.on('provider:updated', found);
    this.service.on('provider:removed', (removed) => {
      onProviderLost?.(removed.provider.record.endpoint, removed.provider.pubkey);
      onChange?.();
    });
  }
}

function summaryOf(known: KnownProvider): ProviderSummary {
  return {
    pubkey: known.pubkey,
    peerId: known.peerId,
    endpoint: known.record.endpoint,
    models: known.record.models.map((model) => model.name),
    slots: known.load.slots,
    activeJobs: known.load.activeJobs,
    gpus: known.record.hardware.gpus.reduce((sum, group) => sum + group.count, 0),
    ...(known.record.software.backend ? { backend: known.record.software.backend } : {}),
    ...(known.record.software.device ? { device: known.record.software.device } : {}),
    ...(known.latencyMs !== undefined ? { latencyMs: known.latencyMs } : {}),
    ...(known.record.stages ? { stages: { endpoint: known.record.stages.endpoint, openToAnyHead: known.record.stages.heads === undefined } } : {}),
    lastSeenAt: known.lastSeenAt,
  };
}

/**
 * The accelerator a provider's jobs run on, for its signed record: under `software`, whose free string entries any
 * reader of the record accepts (a field of its own would be refused by aggregators that predate it).
 */
function acceleratorOf(state: ProviderEngineState | undefined): Record<string, string> {
  if (!state) return {};
  return { backend: state.backend.gpu || 'cpu', device: state.backend.device.slice(0, 128), sandbox: state.sandbox };
}

/** A provider's job kinds as its record carries them: left out when generate is all, as before kinds existed. */
function announcedJobKinds(kinds: readonly JobKind[]): { jobKinds: JobKind[] } | undefined {
  return kinds.some((kind) => kind !== 'generate') ? { jobKinds: [...kinds] } : undefined;
}
