// Published shapes of well-known models, for planning without their files (`infernet plan --model`) and as
// the planner's test cases. Sizes are their bf16 checkpoints as the model cards state them.
import type { ModelDescriptor } from '../models/index.js';

const BF16 = { dominantTensorType: 'BF16' } as const;

export const LLAMA_3_8B: ModelDescriptor = {
  name: 'Llama-3-8B',
  architecture: 'llama',
  layers: 32,
  hiddenSize: 4096,
  heads: 32,
  kvHeads: 8,
  headDim: 128,
  feedForwardLength: 14336,
  vocabularySize: 128256,
  contextLength: 8192,
  quantization: BF16,
  parameterCount: 8.03e9,
  fileSizeBytes: 16.06e9,
};

export const LLAMA_3_70B: ModelDescriptor = {
  name: 'Llama-3-70B',
  architecture: 'llama',
  layers: 80,
  hiddenSize: 8192,
  heads: 64,
  kvHeads: 8,
  headDim: 128,
  feedForwardLength: 28672,
  vocabularySize: 128256,
  contextLength: 8192,
  quantization: BF16,
  parameterCount: 70.6e9,
  fileSizeBytes: 140e9,
};

/** Given by parameters only (file size 0), so its weights are sized as 46.7B x 2 bytes. */
export const MIXTRAL_8X7B: ModelDescriptor = {
  name: 'Mixtral-8x7B',
  architecture: 'llama',
  layers: 32,
  hiddenSize: 4096,
  heads: 32,
  kvHeads: 8,
  headDim: 128,
  feedForwardLength: 14336,
  vocabularySize: 32000,
  contextLength: 32768,
  quantization: BF16,
  parameterCount: 46.7e9,
  fileSizeBytes: 0,
  experts: { count: 8, used: 2 },
};
