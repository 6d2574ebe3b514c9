// Memory before loading: each configured model's engine against the memory it would run in, checked at start-up,
// so a model that does not fit is refused with the figures instead of crashing its engine mid-job.
import { freemem } from 'node:os';
import { resolve } from 'node:path';
import type { NodeConfig } from '../config/index.js';
import type { InferenceBackend } from '../execution/index.js';
import type { Logger } from '../log/index.js';
import { describeModelFile } from '../models/index.js';
import { checkEngineFits, estimateEngineMemory, ModelExceedsMemoryError } from '../planner/index.js';

/**
 * Each configured model's engine (weights, KV cache for contextSize x slots, overhead) against the chosen device's
 * free memory, capped by the container's limit: a model that does not fit is refused now, with both figures.
 */
export async function refuseModelsThatDoNotFit(config: NodeConfig, backend: InferenceBackend, containerBytes: number, logger: Logger): Promise<Map<string, Error>> {
  const refused = new Map<string, Error>();
  const onGpu = backend.freeBytes !== undefined;
  const ram = freemem();
  const [availableBytes, where] = onGpu ? [Math.min(backend.freeBytes!, Infinity), `${backend.device}'s VRAM`] : ram <= containerBytes ? [ram, 'RAM'] : [containerBytes, "the container's memory limit (provider.containerMemoryMb)"];
  for (const path of config.models) {
    const model = await describeModelFile(path).catch(() => undefined);
    if (!model) continue; // unreadable: the load says why
    try {
      checkEngineFits({ model: path, estimate: estimateEngineMemory({ model, contextSize: config.provider.contextSize, slots: config.provider.slots, device: onGpu ? 'gpu' : 'cpu' }), availableBytes, where });
    } catch (error) {
      if (!(error instanceof ModelExceedsMemoryError)) throw error;
      logger.error({ model: path, neededBytes: error.neededBytes, availableBytes: error.availableBytes }, error.message);
      refused.set(resolve(path), error);
    }
  }
  return refused;
}
