// Memory before loading: each configured model's engine against the memory it would run in, checked at start-up,
// so a model that does not fit is refused with the figures instead of crashing its engine mid-job.
import { freemem } from 'node:os';
import { resolve } from 'node:path';
import type { NodeConfig } from '../config/index.js';
import type { InferenceBackend } from '../execution/index.js';
import type { Logger } from '../log/index.js';
import { describeModelFile } from '../models/index.js';
import { checkEngineFits, estimateEngineMemory, gpuLayersThatFit, ModelExceedsMemoryError, placeEngineMemory } from '../planner/index.js';

/**
 * Each configured model's engine (weights, KV cache for contextSize x slots, overhead) against the chosen device's
 * free memory, capped by the container's limit: a model that does not fit is refused now, with both figures. On a
 * GPU, provider.gpuLayers says how many layers go there: VRAM is checked for their share (and, when all of them do
 * not fit, the refusal says how many would), RAM for the rest.
 */
export async function refuseModelsThatDoNotFit(config: NodeConfig, backend: InferenceBackend, containerBytes: number, logger: Logger): Promise<Map<string, Error>> {
  const refused = new Map<string, Error>();
  const ram = freemem();
  const [ramBytes, ramWhere] = ram <= containerBytes ? [ram, 'RAM'] : [containerBytes, "the container's memory limit (provider.containerMemoryMb)"];
  const { contextSize, slots, gpuLayers } = config.provider;
  for (const path of config.models) {
    const model = await describeModelFile(path).catch(() => undefined);
    if (!model) continue; // unreadable: the load says why
    try {
      if (backend.freeBytes === undefined) {
        checkEngineFits({ model: path, estimate: estimateEngineMemory({ model, contextSize, slots, device: 'cpu' }), availableBytes: ramBytes, where: ramWhere });
      } else {
        checkGpuPlacement(path, { model, contextSize, slots, gpuLayers }, { vramBytes: backend.freeBytes, vramWhere: `${backend.device}'s VRAM`, ramBytes, ramWhere });
      }
    } catch (error) {
      if (!(error instanceof ModelExceedsMemoryError)) throw error;
      logger.error({ model: path, neededBytes: error.neededBytes, availableBytes: error.availableBytes }, error.message);
      refused.set(resolve(path), error);
    }
  }
  return refused;
}

interface FreeMemory {
  vramBytes: number;
  vramWhere: string;
  ramBytes: number;
  ramWhere: string;
}

/** The GPU's share against its free VRAM, then the layers kept in RAM (partial offload) against free RAM. */
function checkGpuPlacement(path: string, parameters: Parameters<typeof placeEngineMemory>[0], free: FreeMemory): void {
  const placed = placeEngineMemory(parameters);
  const offloaded = parameters.gpuLayers === 'all' ? 'all' : `${placed.gpuLayers} of ${placed.layers}`;
  // The count that would fit is looked for only when this one does not.
  const fitting = placed.gpu.totalBytes > free.vramBytes ? gpuLayersThatFit(parameters, free.vramBytes) : placed.gpuLayers;
  const alternative = fitting >= 0 && fitting < placed.gpuLayers ? `set provider.gpuLayers: ${fitting} (of ${placed.layers} layers) to keep the rest in RAM, slower` : undefined;
  checkEngineFits({ model: `${path} (${offloaded} layers on the GPU)`, estimate: placed.gpu, availableBytes: free.vramBytes, where: free.vramWhere, ...(alternative ? { alternative } : {}) });
  if (placed.ram.totalBytes === 0) return;
  checkEngineFits({ model: `${path} (${placed.layers - placed.gpuLayers} layers kept in RAM by provider.gpuLayers)`, estimate: placed.ram, availableBytes: free.ramBytes, where: free.ramWhere });
}
