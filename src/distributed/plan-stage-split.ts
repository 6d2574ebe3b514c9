// How a head splits a model over the RPC stages it got: layers (pipeline) by default, tensor parallel only
// when every link between head and stages is measured fast, since each token then crosses every link several
// times; shares in proportion to each stage's memory. Pure, so the choice is table-tested.
import type { ModelDescriptor } from '../models/index.js';
import { DEFAULT_SERVING_OPTIONS, estimateWeightsBytes, formatGibibytes, linkBetween, splitLayers, validTensorParallelSizes, type InterNodeLink, type LayerRange } from '../planner/index.js';
import type { LlamaSplitMode } from './llama-server-head.js';
import { InfernetError } from '../errors/index.js';

/** One stage as the head sees it: its node id (hex public key) and the memory it offers. */
export interface StageCapacity {
  readonly id: string;
  readonly memoryBytes: number;
}

export type RequestedSplit = 'auto' | LlamaSplitMode;

export interface PlanStageSplitParameters {
  model: ModelDescriptor;
  /** The head's node id. */
  head: string;
  /** In pipeline order. */
  stages: readonly StageCapacity[];
  requested: RequestedSplit;
  /** Measured links (from `infernet net test`); an unmeasured link never counts as fast. */
  links?: readonly InterNodeLink[];
  fastLinkGbps?: number;
  /** Tensor parallelism waits on every link once per layer and token; slower links make it lose to a pipeline. */
  maxTensorLinkLatencyMs?: number;
}

export interface StageSplit {
  splitMode: LlamaSplitMode;
  /** llama.cpp's --tensor-split: one proportion per stage, summing to 1. */
  tensorSplit: number[];
  /** Layers each stage holds under a layer split; every layer's slice under a tensor split. */
  layerRanges: LayerRange[];
  explanation: string;
}

export class StagesTooSmallError extends InfernetError {
  override readonly name = 'StagesTooSmallError';
  constructor(
    readonly neededBytes: number,
    readonly availableBytes: number,
  ) {
    super('internal', `the model's weights need ${formatGibibytes(neededBytes)} but the stages offer ${formatGibibytes(availableBytes)} together`);
  }
}

export const DEFAULT_MAX_TENSOR_LINK_LATENCY_MS = 0.5;

export function planStageSplit(params: PlanStageSplitParameters): StageSplit {
  const { model, stages } = params;
  if (!stages.length) throw new StagesTooSmallError(estimateWeightsBytes(model), 0);
  const weights = estimateWeightsBytes(model);
  const available = stages.reduce((sum, stage) => sum + stage.memoryBytes, 0);
  if (weights > available) throw new StagesTooSmallError(weights, available);
  const tensor = tensorVerdict(params);
  if (tensor.ok) {
    const share = round4(1 / stages.length);
    return {
      splitMode: 'tensor',
      tensorSplit: stages.map(() => share),
      layerRanges: stages.map(() => [0, model.layers] as const),
      explanation: `tensor parallel over ${stages.length} stages (${tensor.why}), each holding 1/${stages.length} of every layer`,
    };
  }
  // llama.cpp offloads the output layer as one more: a model with fewer blocks than stages still fills them.
  const units = model.layers >= stages.length ? model.layers : model.layers + 1;
  const layerRanges = splitLayers(units, stages.map((stage) => stage.memoryBytes));
  const counts = layerRanges.map(([start, end]) => end - start);
  const what = units === model.layers ? `${model.layers} layers` : `${model.layers} layer${model.layers === 1 ? '' : 's'} and the output layer`;
  return {
    splitMode: 'layer',
    tensorSplit: counts.map((count) => round4(count / units)),
    layerRanges,
    explanation: `pipeline of ${stages.length} stage${stages.length === 1 ? '' : 's'} holding ${counts.join(' + ')} of ${what} in proportion to their memory (${tensor.why})`,
  };
}

function tensorVerdict(params: PlanStageSplitParameters): { ok: boolean; why: string } {
  const { stages, requested, model } = params;
  if (requested === 'layer') return { ok: false, why: 'layer split requested' };
  if (stages.length > 1 && !validTensorParallelSizes(model).includes(stages.length)) {
    if (requested === 'tensor') throw new RangeError(`tensor parallelism over ${stages.length} stages needs ${model.heads} heads and ${model.kvHeads} KV heads to divide evenly`);
    return { ok: false, why: `${model.heads} heads do not split ${stages.length} ways` };
  }
  if (requested === 'tensor') return { ok: true, why: 'requested' };
  const fast = params.fastLinkGbps ?? DEFAULT_SERVING_OPTIONS.fastLinkGbps;
  const maxLatency = params.maxTensorLinkLatencyMs ?? DEFAULT_MAX_TENSOR_LINK_LATENCY_MS;
  const ids = [params.head, ...stages.map((stage) => stage.id)];
  for (let i = 0; i < ids.length; i++) {
    for (let j = i + 1; j < ids.length; j++) {
      const link = linkBetween({ nodes: [], links: params.links ?? [] }, ids[i]!, ids[j]!);
      if (link?.bandwidthGbps === undefined || link.latencyMs === undefined) return { ok: false, why: 'links not measured fast' };
      if (link.bandwidthGbps < fast || link.latencyMs > maxLatency) {
        return { ok: false, why: `a link measures ${link.bandwidthGbps.toFixed(1)} Gbit/s and ${link.latencyMs.toFixed(2)} ms, below tensor parallelism's ${fast} Gbit/s and ${maxLatency} ms` };
      }
    }
  }
  return { ok: true, why: `every link measured at least ${fast} Gbit/s within ${maxLatency} ms` };
}

function round4(x: number): number {
  return Math.round(x * 10_000) / 10_000;
}
