// The canonical bytes of embedding vectors: float32 little-endian, in base64 on the wire (as OpenAI's
// encoding_format base64), and the sha256 over every vector's bytes in order, by which redundant runs are compared
// and which the provider signs as the result's output hash. Pure.
import { createHash } from 'node:crypto';
import type { EmbeddingVectors } from './schemas.js';

/** One vector as float32 little-endian bytes in base64; values are rounded to float32 as llama.cpp computed them. */
export function encodeEmbeddingVector(values: ArrayLike<number>): string {
  const bytes = Buffer.alloc(values.length * 4);
  for (let i = 0; i < values.length; i++) bytes.writeFloatLE(values[i]!, i * 4);
  return bytes.toString('base64');
}

/** The float32 values of a base64 vector; throws on a length that is not whole float32 values. */
export function decodeEmbeddingVector(base64: string): number[] {
  const bytes = Buffer.from(base64, 'base64');
  if (bytes.length % 4) throw new RangeError(`an embedding vector of ${bytes.length} bytes is not whole float32 values`);
  const values = new Array<number>(bytes.length / 4);
  for (let i = 0; i < values.length; i++) values[i] = bytes.readFloatLE(i * 4);
  return values;
}

/** sha256 (hex) of the vectors' bytes concatenated in order. */
export function embeddingVectorsHash(vectors: readonly string[]): string {
  const hash = createHash('sha256');
  for (const vector of vectors) hash.update(Buffer.from(vector, 'base64'));
  return hash.digest('hex');
}

/** Builds a result's vectors from the engine's values, hash included. */
export function embeddingVectorsOf(values: ReadonlyArray<ArrayLike<number>>): EmbeddingVectors {
  const vectors = values.map(encodeEmbeddingVector);
  return { dimensions: values[0]?.length ?? 0, vectors, sha256: embeddingVectorsHash(vectors) };
}

/**
 * Why a result's vectors are not what they claim (undefined when they are): each exactly `dimensions` float32
 * values, one per input, and the hash over their bytes. A provider's result is opened only when this holds.
 */
export function embeddingVectorsProblem(embeddings: EmbeddingVectors, inputs: number): string | undefined {
  if (embeddings.vectors.length !== inputs) return `${embeddings.vectors.length} vectors for ${inputs} inputs`;
  const wrong = embeddings.vectors.findIndex((vector) => Buffer.from(vector, 'base64').length !== embeddings.dimensions * 4);
  if (wrong >= 0) return `vector ${wrong} does not hold ${embeddings.dimensions} float32 values`;
  if (embeddingVectorsHash(embeddings.vectors) !== embeddings.sha256) return 'the vectors do not match their sha256';
  return undefined;
}
