// How a provider node uses distributed inference, from its config: models it serves as the head of a split
// (their jobs go to a DistributedEngine, every other model to the provider's usual engine), and the stage
// listener it runs for heads it trusts. The node daemon calls these two functions and knows nothing else.
import { join, resolve } from 'node:path';
import Docker from 'dockerode';
import { buildRuntimeImage, detectDockerEngine } from '../execution/index.js';
import type { NodeConfig, NodeHome } from '../config/index.js';
import { publicKeyFromText, type NodeKey } from '../identity/index.js';
import type { GenerationRequest, GenerationResult, InferenceEngine } from '../inference/index.js';
import type { Logger } from '../log/index.js';
import { interNodeLinksOf, netTestsFileOf, readNetTestResults } from '../network-test/index.js';
import { DistributedEngine } from './distributed-engine.js';
import { dockerWorkerLauncher } from './docker-worker-launcher.js';
import { locateLlamaRpcBinaries } from './llama-rpc-binaries.js';
import { processWorkerLauncher, type RpcWorkerLauncher } from './rpc-worker.js';
import { StageService } from './stage-service.js';

/** GGUF files a provider serves split across workers: the catalog offers them like any other model. */
export function distributedModelPaths(config: NodeConfig): string[] {
  return config.distributed.models.map((model) => resolve(model.path));
}

/** The provider's engine, with the models of `distributed.models` routed to their own DistributedEngine each. */
export async function withDistributedModels(engine: InferenceEngine, params: { config: NodeConfig; home: NodeHome; key: NodeKey; logger: Logger }): Promise<InferenceEngine> {
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
        workers: model.workers.map((worker) => ({ url: worker.url, pubkey: publicKeyFromText(worker.npub) })),
        split: model.split,
        threads: config.provider.threads,
        contextSize: config.provider.contextSize,
        links,
        logger: logger.child({ component: 'distributed' }),
        ...(model.stagesPerJob ? { stagesPerJob: model.stagesPerJob } : {}),
        ...(model.workerThreads ? { workerThreads: model.workerThreads } : {}),
        ...(config.distributed.binDir ? { binDir: config.distributed.binDir } : {}),
      }),
    );
  }
  return new ModelRoutedEngine(engine, routes);
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
      launcher = dockerWorkerLauncher({ docker: new Docker(), image, binDir, nodeId: params.key.publicKey, limits: { memoryBytes, cpus: worker.threads, pids: 64 + worker.threads, tmpfsBytes: 16 * 2 ** 20 } });
      logger.info({ image }, 'RPC stages run sandboxed in Docker without network');
    } else {
      logger.warn('RPC stages run as child processes WITHOUT a sandbox, as configured (distributed.worker.sandbox: none); their port is bound to 127.0.0.1');
      launcher = processWorkerLauncher(rpcServer, worker.tensorCache && params.home ? { cacheDir: join(params.home.dir, 'rpc-cache') } : {});
    }
  }
  const service = await StageService.listen({
    key: params.key,
    host: worker.host,
    port: worker.port,
    heads: worker.heads.map((head) => publicKeyFromText(head)),
    launcher,
    threads: worker.threads,
    ...(worker.memoryMb ? { memoryBytes: worker.memoryMb * 2 ** 20 } : {}),
    limits: { maxStages: worker.maxStages, maxStageMs: worker.maxStageMinutes * 60_000, maxStageBytes: Math.round(worker.maxStageGb * 2 ** 30) },
    logger,
  });
  logger.info({ url: service.url, heads: worker.heads.length }, 'serving RPC stages');
  return service;
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
