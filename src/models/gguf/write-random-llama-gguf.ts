// Writes a llama-architecture GGUF with deterministic pseudo-random weights and a tiny SPM tokenizer, so the
// project can make its own test and benchmark models of any size instead of downloading one.
// Tensor data is generated and written a chunk at a time: a 100M-parameter model never sits in memory.
import { open, type FileHandle } from 'node:fs/promises';
import { FILE_TYPE_OF_GGML_TYPE, GGUF_DEFAULT_ALIGNMENT, GgmlType } from './gguf-constants.js';
import { InvalidModelShapeError } from './gguf-errors.js';
import { GgufHeaderEncoder, type EncodedTensorInfo } from './gguf-header-encoder.js';
import { deriveSeed, seededRandom } from '../../random/index.js';
import { encodeValues, encodedBytes, Q8_0_BLOCK_VALUES } from './tensor-encoding.js';
import { buildTinyLlamaVocabulary, MIN_TINY_VOCABULARY } from './tiny-llama-vocabulary.js';

export interface RandomLlamaShape {
  readonly layers: number;
  readonly hiddenSize: number;
  readonly heads: number;
  readonly kvHeads: number;
  readonly feedForwardLength: number;
  readonly vocabularySize: number;
  readonly contextLength: number;
  readonly name?: string;
}

export type RandomTensorType = 'F32' | 'F16' | 'Q8_0';

export interface WriteRandomLlamaGgufParameters {
  readonly seed: number;
  /** Type of the 2-D weight matrices; norms stay F32 as llama.cpp's converters keep them. */
  readonly tensorType: RandomTensorType;
}

export interface WriteRandomLlamaGgufReturnType {
  readonly path: string;
  readonly bytes: number;
  readonly parameterCount: number;
}

/** GPT-2-small-like, 97.5M parameters, about 104 MB in Q8_0: the project's benchmark model. */
export const BENCHMARK_LLAMA_SHAPE: RandomLlamaShape = {
  name: 'infernet-bench-100m',
  layers: 12,
  hiddenSize: 768,
  heads: 12,
  kvHeads: 12,
  feedForwardLength: 2048,
  vocabularySize: 8192,
  contextLength: 2048,
};

const CHUNK_VALUES = 1 << 16; // a multiple of the Q8_0 block, so blocks never straddle chunks

interface PlannedTensor extends EncodedTensorInfo {
  /** Values are uniform in [-amplitude, amplitude]; 0 means a norm weight of all ones. */
  readonly amplitude: number;
}

export async function writeRandomLlamaGguf(
  path: string,
  shape: RandomLlamaShape,
  parameters: WriteRandomLlamaGgufParameters,
): Promise<WriteRandomLlamaGgufReturnType> {
  validateShape(shape, parameters.tensorType);
  const matrixType = GgmlType[parameters.tensorType];
  const tensors = planTensors(shape, matrixType);
  const header = encodeHeader(shape, matrixType, tensors);
  const handle = await open(path, 'w');
  try {
    await handle.write(header);
    let written = header.length;
    for (const [index, tensor] of tensors.entries()) {
      const padding = header.length + tensor.offset - written;
      written += await writeTensorData(handle, tensor, deriveSeed(parameters.seed, index), padding);
    }
    const parameterCount = tensors.reduce((sum, t) => sum + elementsOf(t), 0);
    return { path, bytes: written, parameterCount };
  } finally {
    await handle.close();
  }
}

function validateShape(shape: RandomLlamaShape, tensorType: RandomTensorType): void {
  const fail = (reason: string): never => {
    throw new InvalidModelShapeError(reason);
  };
  const counts = [shape.layers, shape.hiddenSize, shape.heads, shape.kvHeads, shape.feedForwardLength, shape.contextLength];
  if (!counts.every((n) => Number.isInteger(n) && n > 0)) fail('every size must be a positive integer');
  if (shape.hiddenSize % shape.heads !== 0) fail(`hidden size ${shape.hiddenSize} is not divisible by ${shape.heads} heads`);
  if (shape.heads % shape.kvHeads !== 0) fail(`${shape.heads} heads cannot be grouped over ${shape.kvHeads} KV heads`);
  if ((shape.hiddenSize / shape.heads) % 2 !== 0) fail('the head size must be even for rotary embeddings');
  if (shape.vocabularySize < MIN_TINY_VOCABULARY) fail(`the vocabulary needs at least ${MIN_TINY_VOCABULARY} tokens`);
  const rowLengths = [shape.hiddenSize, shape.feedForwardLength];
  if (tensorType === 'Q8_0' && rowLengths.some((n) => n % Q8_0_BLOCK_VALUES !== 0)) {
    fail(`Q8_0 needs the hidden size and feed-forward length to be multiples of ${Q8_0_BLOCK_VALUES}`);
  }
}

// Names and ggml shapes are llama.cpp's LLM_ARCH_LLAMA tensors; amplitudes keep activations near unit scale.
function planTensors(shape: RandomLlamaShape, matrixType: number): PlannedTensor[] {
  const { hiddenSize: h, feedForwardLength: ff, vocabularySize: vocab } = shape;
  const kv = (h / shape.heads) * shape.kvHeads;
  const specs: [string, number[], number, number][] = [['token_embd.weight', [h, vocab], matrixType, 1]];
  for (let b = 0; b < shape.layers; b++) {
    specs.push(
      [`blk.${b}.attn_norm.weight`, [h], GgmlType.F32, 0],
      [`blk.${b}.attn_q.weight`, [h, h], matrixType, fanIn(h)],
      [`blk.${b}.attn_k.weight`, [h, kv], matrixType, fanIn(h)],
      [`blk.${b}.attn_v.weight`, [h, kv], matrixType, fanIn(h)],
      [`blk.${b}.attn_output.weight`, [h, h], matrixType, fanIn(h)],
      [`blk.${b}.ffn_norm.weight`, [h], GgmlType.F32, 0],
      [`blk.${b}.ffn_gate.weight`, [h, ff], matrixType, fanIn(h)],
      [`blk.${b}.ffn_up.weight`, [h, ff], matrixType, fanIn(h)],
      [`blk.${b}.ffn_down.weight`, [ff, h], matrixType, fanIn(ff)],
    );
  }
  specs.push(['output_norm.weight', [h], GgmlType.F32, 0], ['output.weight', [h, vocab], matrixType, fanIn(h)]);
  let offset = 0;
  return specs.map(([name, dims, ggmlType, amplitude]) => {
    const tensor = { name, shape: dims, ggmlType, offset, amplitude };
    offset = alignUp(offset + encodedBytes(ggmlType, elementsOf(tensor)));
    return tensor;
  });
}

// Uniform on [-a, a] has variance a²/3; a = sqrt(3 / fanIn) gives each output unit variance.
function fanIn(n: number): number {
  return Math.sqrt(3 / n);
}

function encodeHeader(shape: RandomLlamaShape, matrixType: number, tensors: readonly PlannedTensor[]): Buffer {
  const vocab = buildTinyLlamaVocabulary(shape.vocabularySize);
  return new GgufHeaderEncoder()
    .string('general.architecture', 'llama')
    .string('general.name', shape.name ?? 'infernet-random-llama')
    .u32('general.alignment', GGUF_DEFAULT_ALIGNMENT)
    .u32('general.file_type', FILE_TYPE_OF_GGML_TYPE[matrixType] ?? 0)
    .u32('llama.context_length', shape.contextLength)
    .u32('llama.embedding_length', shape.hiddenSize)
    .u32('llama.block_count', shape.layers)
    .u32('llama.feed_forward_length', shape.feedForwardLength)
    .u32('llama.rope.dimension_count', shape.hiddenSize / shape.heads)
    .u32('llama.attention.head_count', shape.heads)
    .u32('llama.attention.head_count_kv', shape.kvHeads)
    .f32('llama.attention.layer_norm_rms_epsilon', 1e-5)
    .f32('llama.rope.freq_base', 10000)
    .u32('llama.vocab_size', shape.vocabularySize)
    .string('tokenizer.ggml.model', 'llama')
    .stringArray('tokenizer.ggml.tokens', vocab.tokens)
    .f32Array('tokenizer.ggml.scores', vocab.scores)
    .i32Array('tokenizer.ggml.token_type', vocab.tokenTypes)
    .u32('tokenizer.ggml.unknown_token_id', vocab.unknownId)
    .u32('tokenizer.ggml.bos_token_id', vocab.bosId)
    .u32('tokenizer.ggml.eos_token_id', vocab.eosId)
    .bool('tokenizer.ggml.add_bos_token', true)
    .bool('tokenizer.ggml.add_eos_token', false)
    .encode(tensors, GGUF_DEFAULT_ALIGNMENT);
}

/** Writes `padding` zero bytes, then the tensor's values chunk by chunk; returns the bytes written. */
async function writeTensorData(handle: FileHandle, tensor: PlannedTensor, seed: number, padding: number): Promise<number> {
  if (padding > 0) await handle.write(Buffer.alloc(padding));
  const random = seededRandom(seed);
  const total = elementsOf(tensor);
  let written = padding;
  for (let start = 0; start < total; start += CHUNK_VALUES) {
    const values = new Float32Array(Math.min(CHUNK_VALUES, total - start));
    if (tensor.amplitude === 0) values.fill(1);
    else for (let i = 0; i < values.length; i++) values[i] = (random() * 2 - 1) * tensor.amplitude;
    const bytes = encodeValues(tensor.ggmlType, values);
    await handle.write(bytes);
    written += bytes.length;
  }
  return written;
}

function elementsOf(tensor: EncodedTensorInfo): number {
  return tensor.shape.reduce((product, n) => product * n, 1);
}

function alignUp(n: number): number {
  return Math.ceil(n / GGUF_DEFAULT_ALIGNMENT) * GGUF_DEFAULT_ALIGNMENT;
}
