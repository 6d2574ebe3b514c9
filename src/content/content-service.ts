// Content on a running node: serves /infernet/content/1.0.0 from the node's store, announces every root it
// holds as a DHT provider record (again when content is added while it runs), and fetches by content id for
// the node's own needs (a provider missing a job's model).
import { join } from 'node:path';
import type { Libp2p } from '@libp2p/interface';
import type { Logger } from '../log/index.js';
import { PROVIDE_SCAN_INTERVAL_MS, PROVIDE_TIMEOUT_MS } from './constants.js';
import { ContentStore, parseCid } from './content-store.js';
import { fetchContent, type FetchContentOptions, type FetchContentResult } from './fetch-content.js';
import { serveContent, stopServingContent } from './serve-content.js';

export interface ContentServiceOptions {
  libp2p: Libp2p;
  homeDir: string;
  logger: Logger;
  /** How often the store is scanned for roots to provide; tests shorten it. */
  scanIntervalMs?: number;
}

export class ContentService {
  readonly store: ContentStore;
  private readonly provided = new Set<string>();
  private timer?: NodeJS.Timeout;
  private readonly log: Logger;
  private scanning?: Promise<void>;
  /** Aborts DHT walks still running at stop(), which would otherwise hold the process for their timeout. */
  private readonly stopping = new AbortController();
  /** Model fetches in progress by CID: two offers for the same missing model share one fetch. */
  private readonly modelFetches = new Map<string, Promise<string>>();

  private constructor(private readonly options: ContentServiceOptions) {
    this.store = new ContentStore(options.homeDir);
    this.log = options.logger.child({ component: 'content' });
  }

  static async start(options: ContentServiceOptions): Promise<ContentService> {
    const service = new ContentService(options);
    await serveContent(options.libp2p, { store: service.store, logger: options.logger });
    service.scanning = service.provideHeld();
    service.timer = setInterval(() => {
      service.scanning ??= service.provideHeld().finally(() => (service.scanning = undefined));
    }, options.scanIntervalMs ?? PROVIDE_SCAN_INTERVAL_MS);
    service.timer.unref();
    void service.scanning.finally(() => (service.scanning = undefined));
    return service;
  }

  /** Roots this node announces in the DHT. */
  get providedRoots(): string[] {
    return [...this.provided];
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.stopping.abort();
    await this.scanning?.catch(() => undefined);
    await stopServingContent(this.options.libp2p).catch(() => undefined);
  }

  /** Fetches content with this node's libp2p node, then announces it. */
  async fetch(parameters: Omit<FetchContentOptions, 'libp2p' | 'store' | 'logger'>): Promise<FetchContentResult> {
    const result = await fetchContent({ ...parameters, libp2p: this.options.libp2p, store: this.store, logger: this.options.logger });
    await this.provide(result.cid);
    return result;
  }

  /**
   * A model named by content id: the copy this node holds, else fetched from its holders into
   * <home>/content/models/<cid>/<name>.gguf, with progress reported about once a second.
   */
  async fetchModel(model: { name: string; cid: string; maxBytes?: number }, report: (message: string) => void): Promise<string> {
    const held = await this.store.manifest(parseCid(model.cid).toString());
    if (held) return held.path;
    const running = this.modelFetches.get(model.cid);
    if (running) return running;
    const fetching = this.fetchModelOnce(model, report).finally(() => this.modelFetches.delete(model.cid));
    this.modelFetches.set(model.cid, fetching);
    return fetching;
  }

  private async fetchModelOnce(model: { name: string; cid: string; maxBytes?: number }, report: (message: string) => void): Promise<string> {
    const cid = parseCid(model.cid);
    const fileName = `${model.name.replace(/[^\w.-]+/g, '_').slice(0, 120) || 'model'}.gguf`;
    let reportedAt = 0;
    const result = await this.fetch({
      cid,
      out: join(this.store.dir, 'models', cid.toString(), fileName),
      ...(model.maxBytes !== undefined ? { maxBytes: model.maxBytes } : {}),
      onProgress: (progress) => {
        if (Date.now() - reportedAt < 1_000) return;
        reportedAt = Date.now();
        report(`fetching model ${model.name}: ${((100 * progress.bytes) / Math.max(1, progress.totalBytes)).toFixed(0)}% of ${progress.totalBytes} bytes from ${progress.peers} peer(s)`);
      },
    });
    report(`model ${model.name} fetched: ${result.size} bytes from ${result.peers.length} peer(s), every chunk verified`);
    return result.path;
  }

  private async provideHeld(): Promise<void> {
    for (const manifest of await this.store.list()) {
      if (!this.provided.has(manifest.cid)) await this.provide(manifest.cid);
    }
  }

  private async provide(cid: string): Promise<void> {
    try {
      if (this.stopping.signal.aborted) return;
      await this.options.libp2p.contentRouting.provide(parseCid(cid), { signal: AbortSignal.any([this.stopping.signal, AbortSignal.timeout(PROVIDE_TIMEOUT_MS)]) });
      this.provided.add(cid);
      this.log.info({ cid }, 'content provided in the DHT');
    } catch (error) {
      if (this.stopping.signal.aborted) return;
      this.log.warn({ cid, err: (error as Error).message }, 'providing content to the DHT failed; retried at the next scan');
    }
  }
}
