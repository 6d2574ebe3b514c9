// The daemon's part in discovery: a provider announces its signed record with its job endpoint; an aggregator
// keeps a job link to every provider it learns of, and drops it when the provider leaves or goes silent.
import type { NodeConfig } from '../config/index.js';
import { detectHardware, DiscoveryService, summariseHardware, type KnownProvider } from '../discovery/index.js';
import type { NodeKey } from '../identity/index.js';
import type { Logger } from '../log/index.js';
import { PROTOCOL_VERSION } from '../protocol/index.js';
import type { ModelCatalog } from './model-catalog.js';
import type { ProviderService } from './provider-service.js';

export interface ProviderSummary {
  pubkey: string;
  peerId: string;
  endpoint: string;
  models: string[];
  slots: number;
  activeJobs: number;
  gpus: number;
  latencyMs?: number;
  lastSeenAt: number;
}

export interface NodeDiscoveryOptions {
  config: NodeConfig;
  key: NodeKey;
  logger: Logger;
  agent: string;
  /** This node's job listener, announced to others (providers only). */
  endpoint: string | null;
  provider?: { service: ProviderService; catalog: ModelCatalog };
  /** Called when an aggregator should (or should no longer) keep a job link to a provider's endpoint. */
  onProviderFound?: (endpoint: string, pubkey: string) => void;
  onProviderLost?: (endpoint: string) => void;
  onChange?: () => void;
}

export class NodeDiscovery {
  private constructor(
    readonly service: DiscoveryService,
    private readonly options: NodeDiscoveryOptions,
  ) {}

  static async start(options: NodeDiscoveryOptions): Promise<NodeDiscovery> {
    const { discovery } = options.config;
    const service = new DiscoveryService({
      key: options.key,
      logger: options.logger,
      listen: discovery.listen,
      bootstrap: discovery.bootstrap,
      allow: discovery.allow,
      ...(discovery.announce ? { announce: discovery.announce } : {}),
    });
    const node = new NodeDiscovery(service, options);
    node.follow();
    await service.start();
    if (options.provider && options.endpoint) await node.announce(options.provider, options.endpoint);
    return node;
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
    if (this.options.provider) await this.service.withdraw().catch(() => undefined);
    await this.service.stop();
  }

  private async announce(provider: NonNullable<NodeDiscoveryOptions['provider']>, endpoint: string): Promise<void> {
    const { config } = this.options;
    await this.service.announce({
      hardware: summariseHardware(await detectHardware()),
      models: provider.catalog.offers(),
      endpoint,
      slots: provider.service.slots,
      ...(config.provider.price ? { price: config.provider.price } : {}),
      software: { infernet: this.options.agent, engine: provider.service.engineId ?? 'none' },
      protocolVersion: PROTOCOL_VERSION,
      load: () => provider.service.load,
    });
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
      onProviderLost?.(removed.provider.record.endpoint);
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
    ...(known.latencyMs !== undefined ? { latencyMs: known.latencyMs } : {}),
    lastSeenAt: known.lastSeenAt,
  };
}
