import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeEmbeddingVector, embeddingVectorsHash, embeddingVectorsOf, embeddingVectorsProblem, encodeEmbeddingVector } from './embedding-vectors.js';
import { EmbeddingVectors, MAX_EMBEDDING_VALUES } from './schemas.js';

describe('embedding vectors', () => {
  it('travel as float32 little-endian in base64, as OpenAI encodes them', () => {
    // 1.0f is 00 00 80 3f little-endian; -2.0f is 00 00 00 c0.
    assert.equal(encodeEmbeddingVector([1, -2]), Buffer.from([0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0]).toString('base64'));
    assert.deepEqual(decodeEmbeddingVector(encodeEmbeddingVector([1, -2, 0.5])), [1, -2, 0.5]);
  });
  it('round float64 values to the float32 llama.cpp computed them in', () => {
    assert.deepEqual(decodeEmbeddingVector(encodeEmbeddingVector([0.1])), [Math.fround(0.1)]);
  });
  it('refuse bytes that are not whole float32 values', () => {
    assert.throws(() => decodeEmbeddingVector(Buffer.from([1, 2, 3]).toString('base64')), RangeError);
  });
  it('hash every vector in order, so that the same vectors give the same hash and reordered ones another', () => {
    const a = embeddingVectorsOf([[1, 2], [3, 4]]);
    assert.equal(a.dimensions, 2);
    assert.equal(a.sha256, embeddingVectorsOf([[1, 2], [3, 4]]).sha256);
    assert.notEqual(a.sha256, embeddingVectorsOf([[3, 4], [1, 2]]).sha256);
    assert.equal(a.sha256, embeddingVectorsHash([encodeEmbeddingVector([1, 2, 3, 4])]), 'the hash is over the bytes, whatever the split');
  });
  it('name what is wrong with a result: count, dimensions or hash', () => {
    const good = embeddingVectorsOf([[1, 2], [3, 4]]);
    assert.equal(embeddingVectorsProblem(good, 2), undefined);
    assert.match(embeddingVectorsProblem(good, 3) ?? '', /2 vectors for 3 inputs/);
    assert.match(embeddingVectorsProblem({ ...good, dimensions: 3 }, 2) ?? '', /does not hold 3 float32 values/);
    assert.match(embeddingVectorsProblem({ ...good, vectors: [good.vectors[0]!, encodeEmbeddingVector([3, 5])] }, 2) ?? '', /do not match their sha256/);
  });
  it('bound the values one result carries', () => {
    const vector = encodeEmbeddingVector(new Array(4096).fill(0));
    const tooMany = { dimensions: 4096, vectors: new Array(Math.floor(MAX_EMBEDDING_VALUES / 4096) + 1).fill(vector), sha256: '0'.repeat(64) };
    assert.equal(EmbeddingVectors.safeParse(tooMany).success, false);
    assert.equal(EmbeddingVectors.safeParse({ ...tooMany, vectors: tooMany.vectors.slice(1) }).success, true);
  });
});
