// The daemon's side of finding RPC stages through discovery: a provider running a stage service announces it in
// its record (a StageOffer), and a head whose model says `workers: discover` asks discovery for offers open to it.
import { freemem } from 'node:os';
import type { NodeConfig } from '../config/index.js';
import type { DiscoveryService, StageOffer } from '../discovery/index.js';
import type { StageEndpoint, StageService } from './index.js';
import { publicKeyFromText } from '../identity/index.js';
import { InfernetError } from '../errors/index.js';
import { silentLogger, type Logger } from '../log/index.js';
import { libp2pEndpointOf, peerIdOfEndpoint } from '../nat/index.js';
import { tunnelStreamOpener } from './tunnel/tunnel-over-libp2p.js';

export class StageDiscoveryUnavailableError extends InfernetError {
  override readonly name = 'StageDiscoveryUnavailableError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('internal', message, options);
  }
}

/**
 * What this provider's record says about its stages, or nothing when it runs none, keeps them unlisted, or has
 * no address heads could dial (a listener on 0.0.0.0 without `publicUrl`). A provider whose record announces a
 * libp2p:// job endpoint (behind NAT: nobody can dial its listeners) offers its stages there too, whatever its
 * listener's address: heads open them as libp2p streams (the usual home GPU, its listener on 0.0.0.0).
 */
export function stageOfferOf(config: NodeConfig, service: Pick<StageService, 'url'> | undefined, jobEndpoint?: string): StageOffer | undefined {
  const worker = config.distributed.worker;
  if (!worker || !service || !worker.announce) return undefined;
  const endpoint = worker.publicUrl ?? (jobEndpoint && peerIdOfEndpoint(jobEndpoint) ? jobEndpoint : service.url);
  if (isWildcardUrl(endpoint)) return undefined;
  return {
    endpoint,
    threads: worker.threads,
    memoryBytes: worker.memoryMb ? worker.memoryMb * 2 ** 20 : freemem(),
    maxStages: worker.maxStages,
    sandbox: worker.sandbox,
    ...(worker.heads === 'any' ? {} : { heads: worker.heads.map((head) => publicKeyFromText(head)) }),
  };
}

/**
 * Stage providers open to this head, best first, as the head dials them. A provider whose record announces a
 * libp2p:// job endpoint sits behind NAT (src/nat chose that endpoint because nobody can dial its listeners): its
 * stages are reached as its jobs are, over libp2p (relayed, or direct over UDP once upgraded), not at the ws:// URL
 * of its offer. Any other is dialled at that URL first, and over libp2p when the URL cannot be reached.
 */
export async function findStageWorkers(service: DiscoveryService | undefined, head: string, need: { limit: number }, logger: Logger = silentLogger()): Promise<StageEndpoint[]> {
  if (!service?.isStarted) throw new StageDiscoveryUnavailableError('discovery has not started yet: no stage providers can be found');
  const found = await service.findStageProviders({ head, limit: need.limit });
  return found.map((provider) => {
    const { pubkey, peerId } = provider;
    // The addresses of its newest record at every tunnel: a relay that died is replaced there.
    const addresses = () => service.knownProviders().find((known) => known.peerId === peerId)?.record.addresses ?? provider.record.addresses ?? [];
    const open = tunnelStreamOpener(service.libp2p, peerId, addresses, logger);
    // Any provider found here is known through libp2p: one whose ws:// listener cannot be reached is tried there.
    const overLibp2p = peerIdOfEndpoint(provider.record.endpoint) !== undefined || peerIdOfEndpoint(provider.offer.endpoint) !== undefined;
    return { url: overLibp2p ? libp2pEndpointOf(peerId) : provider.offer.endpoint, pubkey, open };
  });
}

/** ws://0.0.0.0:7430 or ws://[::]:7430: where the listener binds, not where anyone can reach it. */
export function isWildcardUrl(url: string): boolean {
  if (peerIdOfEndpoint(url)) return false;
  const host = new URL(url).hostname;
  return host === '0.0.0.0' || host === '[::]' || host === '::';
}
