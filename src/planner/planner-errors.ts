// Why a plan cannot be made, in words a provider or client can act on.
import { formatGibibytes } from './format-bytes.js';
import { InfernetError } from '../errors/index.js';

/** The model, with the KV cache it needs, is larger than the memory the cluster can give it. */
export class ModelDoesNotFitError extends InfernetError {
  override readonly name = 'ModelDoesNotFitError';
  constructor(
    readonly modelName: string,
    readonly neededBytes: number,
    readonly availableBytes: number,
    readonly detail: string,
    readonly clusterSummary: string,
    readonly hint?: string,
  ) {
    super('model_unavailable', 
      `${modelName} does not fit: it needs at least ${formatGibibytes(neededBytes)} (${detail}) ` +
        `but the cluster offers ${formatGibibytes(availableBytes)} usable (${clusterSummary})` +
        (hint === undefined ? '' : `. ${hint}`),
    );
  }
}

/** A model whose engine needs more memory than this machine has free: refused before it loads, never killed mid-job. */
export class ModelExceedsMemoryError extends InfernetError {
  override readonly name = 'ModelExceedsMemoryError';
  readonly neededBytes: number;
  constructor(
    readonly model: string,
    readonly estimate: { weightsBytes: number; kvCacheBytes: number; overheadBytes: number; totalBytes: number },
    readonly availableBytes: number,
    readonly where: string,
    /** Another way out, said last (fewer layers on the GPU). */
    alternative?: string,
  ) {
    super('model_unavailable', 
      `${model} needs ${mebibytes(estimate.totalBytes)} (weights ${mebibytes(estimate.weightsBytes)}, KV cache ${mebibytes(estimate.kvCacheBytes)}, ` +
        `compute and runtime ${mebibytes(estimate.overheadBytes)}) but ${where} has ${mebibytes(availableBytes)} free: serve a smaller quantization, ` +
        `${alternative ? 'lower provider.contextSize or provider.slots, or ' + alternative : 'or lower provider.contextSize or provider.slots'}`,
    );
    this.neededBytes = estimate.totalBytes;
  }
}

function mebibytes(bytes: number): string {
  return `${Math.ceil(bytes / 2 ** 20)} MiB`;
}

/** A `--gpus` value that does not read as `COUNTxMEMORY[:LINK]` per node. */
export class InvalidGpuSpecError extends InfernetError {
  override readonly name = 'InvalidGpuSpecError';
  constructor(
    readonly spec: string,
    readonly reason: string,
  ) {
    super('invalid_frame', `Cannot read GPU spec "${spec}": ${reason}. Expected nodes like 8x80GB or 2x24GB:pcie, separated by commas`);
  }
}

/** An option outside the range where the memory arithmetic means anything. */
export class InvalidPlanOptionsError extends InfernetError {
  override readonly name = 'InvalidPlanOptionsError';
  constructor(readonly reason: string) {
    super('invalid_frame', `Invalid planning options: ${reason}`);
  }
}

/** The model's weight type is not one whose size per weight is known, and the file size was not given. */
export class UnknownWeightSizeError extends InfernetError {
  override readonly name = 'UnknownWeightSizeError';
  constructor(readonly tensorType: string) {
    super('invalid_frame', `Cannot size weights of type ${tensorType}: give the model's file size instead`);
  }
}
