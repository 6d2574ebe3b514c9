// Turns a GGUF header into a ModelDescriptor, reading llama.cpp's `<architecture>.*` keys the way
// llama.cpp itself falls back when one is absent (KV heads default to heads, head size to hidden / heads).
import type { GgufHeader, GgufTensorInfo, GgufValue } from './gguf/read-gguf-header.js';
import { GGUF_FILE_TYPE_NAMES } from './gguf/gguf-constants.js';
import type { MixtureOfExperts, ModelDescriptor, ModelQuantization } from './model-descriptor.js';
import { InfernetError } from '../errors/index.js';

/** A GGUF file lacks a key without which the model cannot be sized. */
export class IncompleteModelMetadataError extends InfernetError {
  override readonly name = 'IncompleteModelMetadataError';
  constructor(readonly key: string) {
    super('internal', `The model file does not state ${key}, so its memory needs cannot be computed`);
  }
}

export type DescribeModelReturnType = ModelDescriptor;

export function describeModel(header: GgufHeader, fileSizeBytes: number): DescribeModelReturnType {
  const meta = header.metadata;
  const architecture = stringValue(meta['general.architecture']);
  if (architecture === undefined) throw new IncompleteModelMetadataError('general.architecture');
  const key = (suffix: string): number | undefined => numberValue(meta[`${architecture}.${suffix}`]);
  const required = (suffix: string): number => {
    const value = key(suffix);
    if (value === undefined) throw new IncompleteModelMetadataError(`${architecture}.${suffix}`);
    return value;
  };
  const hiddenSize = required('embedding_length');
  const heads = required('attention.head_count');
  const name = stringValue(meta['general.name']);
  const experts = expertsOf(key('expert_count'), key('expert_used_count'));
  return {
    ...(name === undefined ? {} : { name }),
    architecture,
    layers: required('block_count'),
    hiddenSize,
    heads,
    kvHeads: key('attention.head_count_kv') ?? heads,
    headDim: key('attention.key_length') ?? hiddenSize / heads,
    feedForwardLength: key('feed_forward_length') ?? 0,
    vocabularySize: key('vocab_size') ?? vocabularyFromTokenizer(header),
    contextLength: key('context_length') ?? 0,
    quantization: quantizationOf(header),
    parameterCount: header.tensors.reduce((sum, t) => sum + t.elements, 0),
    fileSizeBytes,
    ...(experts === undefined ? {} : { experts }),
  };
}

function expertsOf(count: number | undefined, used: number | undefined): MixtureOfExperts | undefined {
  return count === undefined || count === 0 ? undefined : { count, used: used ?? 1 };
}

// Most GGUFs omit vocab_size; the token list (kept as a length only) or the embedding matrix says it.
function vocabularyFromTokenizer(header: GgufHeader): number {
  const tokens = header.metadata['tokenizer.ggml.tokens'];
  if (typeof tokens === 'object' && tokens.kind === 'array') return tokens.length;
  const embedding = header.tensors.find((t) => t.name === 'token_embd.weight');
  return embedding?.shape[1] ?? 0;
}

function quantizationOf(header: GgufHeader): ModelQuantization {
  const fileTypeId = numberValue(header.metadata['general.file_type']);
  const fileType = fileTypeId === undefined ? undefined : (GGUF_FILE_TYPE_NAMES[fileTypeId] ?? `type ${fileTypeId}`);
  const dominantTensorType = dominantType(header.tensors);
  return fileType === undefined ? { dominantTensorType } : { fileType, dominantTensorType };
}

function dominantType(tensors: readonly GgufTensorInfo[]): string {
  const elementsByType = new Map<string, number>();
  for (const t of tensors) {
    const type = t.typeName ?? `ggml type ${t.ggmlType}`;
    elementsByType.set(type, (elementsByType.get(type) ?? 0) + t.elements);
  }
  let best = 'unknown';
  let bestElements = -1;
  for (const [type, elements] of elementsByType) {
    if (elements > bestElements) [best, bestElements] = [type, elements];
  }
  return best;
}

// Some architectures store per-layer arrays (heads, feed-forward); the largest layer sizes the memory.
function numberValue(value: GgufValue | undefined): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'object' && value.items !== undefined) {
    const numbers = value.items.map(numberValue).filter((n): n is number => n !== undefined);
    return numbers.length === 0 ? undefined : Math.max(...numbers);
  }
  return undefined;
}

function stringValue(value: GgufValue | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}
