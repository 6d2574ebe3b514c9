// How a provider node uses distributed inference, from its config: models it serves as the head of a split
// (their jobs go to a DistributedEngine, every other model to the provider's usual engine), and the stage
// listener it runs for heads it trusts. The node daemon calls these two functions and knows nothing else.
import { join, resolve } from 'node:path';
import Docker from 'dockerode';
import { ContentStore } from '../content/index.js';
import { buildRuntimeImage, detectDockerEngine } from '../execution/index.js';
import { ConfigError, type NodeConfig, type NodeHome } from '../config/index.js';
import { publicKeyFromText, type NodeKey } from '../identity/index.js';
import type { GenerationRequest, GenerationResult, InferenceEngine } from '../inference/index.js';
import type { Logger } from '../log/index.js';
import { interNodeLinksOf, netTestsFileOf, readNetTestResults } from '../network-test/index.js';
import { DistributedEngine, type StageFinder } from './distributed-engine.js';
import { dockerWorkerLauncher } from './docker-worker-launcher.js';
import { locateLlamaRpcBinaries } from './llama-rpc-binaries.js';
import { processWorkerLauncher, type RpcWorkerLauncher } from './rpc-worker.js';
import type { StageEndpoint } from './stage-connection.js';
import { StageService } from './stage-service.js';

/** GGUF files a provider serves split across workers: the catalog offers them like any other model. */
export function distributedModelPaths(config: NodeConfig): string[] {
  return config.distributed.models.map((model) => resolve(model.path));
}

/** The provider's engine, with the models of `distributed.models` routed to their own DistributedEngine each. */
export async function withDistributedModels(
  engine: InferenceEngine,
  params: { config: NodeConfig; home: NodeHome; key: NodeKey; logger: Logger; /** How `workers: discover` finds stages (the node's discovery). */ findStageWorkers?: StageFinder },
): Promise<InferenceEngine> {
  const { config, key, logger } = params;
  if (!config.distributed.models.length) return engine;
  // Measured links decide whether tensor parallelism is worth it; none measured means a pipeline.
  const links = interNodeLinksOf(await readNetTestResults(netTestsFileOf(params.home.dir)));
  const routes = new Map<string, InferenceEngine>();
  for (const model of config.distributed.models) {
    routes.set(
      resolve(model.path),
      new DistributedEngine({
        key,
        workers: workersOf(model, params.findStageWorkers),
        split: model.split,
        threads: config.provider.threads,
        contextSize: config.provider.contextSize,
        links,
        logger: logger.child({ component: 'distributed' }),
        ...(model.stagesPerJob ? { stagesPerJob: model.stagesPerJob } : {}),
        ...(model.workerThreads ? { workerThreads: model.workerThreads } : {}),
        ...(model.keepWarmSeconds !== undefined ? { keepWarmMs: model.keepWarmSeconds * 1000 } : {}),
        modelCidOf: async (path) => model.cid ?? (await cidOfHeldFile(params.home.dir, path)),
        ...(config.distributed.binDir ? { binDir: config.distributed.binDir } : {}),
      }),
    );
  }
  return new ModelRoutedEngine(engine, routes);
}

function workersOf(model: NodeConfig['distributed']['models'][number], findStageWorkers: StageFinder | undefined): readonly StageEndpoint[] | StageFinder {
  if (model.workers !== 'discover') return model.workers.map((worker) => ({ url: worker.url, pubkey: publicKeyFromText(worker.npub) }));
  if (!findStageWorkers) throw new ConfigError(`distributed.models (${model.path}): workers: discover needs discovery.enabled: true`);
  return findStageWorkers;
}

/** Starts the stage listener when the config has `distributed.worker`; refuses to run stages without a sandbox unless told `sandbox: none`. */
export async function startStageService(params: { config: NodeConfig; key: NodeKey; logger: Logger; home?: NodeHome; launcher?: RpcWorkerLauncher }): Promise<StageService | undefined> {
  const worker = params.config.distributed.worker;
  if (!worker) return undefined;
  const logger = params.logger.child({ component: 'stages' });
  let launcher = params.launcher;
  if (!launcher) {
    const { binDir, rpcServer } = locateLlamaRpcBinaries(params.config.distributed.binDir);
    if (worker.sandbox === 'docker') {
      const docker = await detectDockerEngine();
      if (!docker.reachable) {
        logger.error(`this provider runs no RPC stages: ${docker.reason}. Start Docker, or set distributed.worker.sandbox: none`);
        return undefined;
      }
      const image = params.config.provider.runtimeImage ?? (await buildRuntimeImage());
      const memoryBytes = (worker.memoryMb ?? params.config.provider.containerMemoryMb) * 2 ** 20;
      // A container reads the provider's tensor cache (read-only): entries pre-filled from held models.
      const tensorCacheDir = worker.tensorCache && params.home ? tensorCacheDirOf(params.home) : undefined;
      launcher = dockerWorkerLauncher({ docker: new Docker(), image, binDir, nodeId: params.key.publicKey, limits: { memoryBytes, cpus: worker.threads, pids: 64 + worker.threads, tmpfsBytes: 16 * 2 ** 20 }, ...(tensorCacheDir ? { tensorCacheDir } : {}) });
      logger.info({ image }, 'RPC stages run sandboxed in Docker without network');
    } else {
      logger.warn('RPC stages run as child processes WITHOUT a sandbox, as configured (distributed.worker.sandbox: none); their port is bound to 127.0.0.1');
      launcher = processWorkerLauncher(rpcServer, worker.tensorCache && params.home ? { cacheDir: tensorCacheDirOf(params.home) } : {});
    }
  }
  // Pre-filling writes the cache the workers read: only where they run with one (tensorCache).
  const home = params.home;
  const cacheDir = launcher.tensorCacheDir;
  const tensorCache =
    worker.tensorCache && home && cacheDir
      ? { dir: cacheDir, modelPathOf: async (cid: string) => resolveHeldModel(worker.heldModels ?? [], cid) ?? (await new ContentStore(home.dir).manifest(cid))?.path }
      : undefined;
  const service = await StageService.listen({
    key: params.key,
    host: worker.host,
    port: worker.port,
    heads: worker.heads === 'any' ? 'any' : worker.heads.map((head) => publicKeyFromText(head)),
    launcher,
    threads: worker.threads,
    ...(worker.memoryMb ? { memoryBytes: worker.memoryMb * 2 ** 20 } : {}),
    limits: { maxStages: worker.maxStages, maxStageMs: worker.maxStageMinutes * 60_000, maxStageBytes: Math.round(worker.maxStageGb * 2 ** 30) },
    ...(tensorCache ? { tensorCache } : {}),
    logger,
  });
  logger.info({ url: service.url, heads: worker.heads === 'any' ? 'any' : worker.heads.length }, 'serving RPC stages');
  if (worker.announce && !worker.publicUrl && /^wss?:\/\/(0\.0\.0\.0|\[::\])[:/]/.test(service.url)) {
    logger.warn({ url: service.url }, 'the stage listener binds every interface but has no distributed.worker.publicUrl: its stages are not announced in discovery until one is set');
  }
  return service;
}

/** The workers' LLAMA_CACHE under the node home (ggml-rpc-server keeps its entries in its rpc/ folder). */
function tensorCacheDirOf(home: NodeHome): string {
  return join(home.dir, 'rpc-cache');
}

function resolveHeldModel(held: readonly { cid: string; path: string }[], cid: string): string | undefined {
  const found = held.find((model) => model.cid === cid);
  return found && resolve(found.path);
}

/** The content id of a file this node holds in its content store (added or referenced in place), if any. */
async function cidOfHeldFile(homeDir: string, path: string): Promise<string | undefined> {
  const target = resolve(path);
  return (await new ContentStore(homeDir).list()).find((manifest) => resolve(manifest.path) === target)?.cid;
}

/** Sends each job to the engine of its model; every other model to the default engine. */
class ModelRoutedEngine implements InferenceEngine {
  constructor(
    private readonly fallback: InferenceEngine,
    private readonly routes: ReadonlyMap<string, InferenceEngine>,
  ) {}

  get id(): string {
    return this.fallback.id;
  }

  /** Asked without the model: true only when every engine a job may be routed to honours continueFrom (distributed ones do not). */
  get continuesGenerations(): boolean {
    return [this.fallback, ...this.routes.values()].every((engine) => engine.continuesGenerations === true);
  }

  generate(request: GenerationRequest): Promise<GenerationResult> {
    return this.engineOf(request.modelPath).generate(request);
  }

  preload(modelPath: string): Promise<void> {
    return this.engineOf(modelPath).preload(modelPath);
  }

  async close(): Promise<void> {
    for (const engine of this.routes.values()) await engine.close();
    await this.fallback.close();
  }

  private engineOf(modelPath: string): InferenceEngine {
    return this.routes.get(resolve(modelPath)) ?? this.fallback;
  }
}
