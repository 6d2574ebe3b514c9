import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from './api-error.js';
import { checkDimensions, embeddingJobSpec, normalizedVectors, OllamaEmbedRequest, openAiEmbeddingList, OpenAiEmbeddingRequest } from './embeddings-requests.js';
import { parseRequestBody } from './openai-requests.js';
import { decodeEmbeddingVector, embeddingVectorsOf, MAX_EMBEDDING_INPUTS } from '../protocol/index.js';

const refusal = (run: () => unknown): ApiError => {
  try {
    run();
  } catch (error) {
    assert.ok(error instanceof ApiError);
    return error;
  }
  assert.fail('accepted');
};

describe('embedding requests', () => {
  it('make one embed job of a string or of an array of strings, in order', () => {
    const one = embeddingJobSpec(parseRequestBody(OpenAiEmbeddingRequest, { model: 'm', input: 'a cat' }), 'job-embed-1');
    assert.deepEqual(one.input, { embed: ['a cat'] });
    const many = embeddingJobSpec(parseRequestBody(OllamaEmbedRequest, { model: 'm', input: ['a', 'b'] }), 'job-embed-2');
    assert.deepEqual(many.input, { embed: ['a', 'b'] });
    assert.equal(many.model.name, 'm');
  });
  it('refuse by name what Infernet cannot honour', () => {
    assert.match(refusal(() => parseRequestBody(OpenAiEmbeddingRequest, { model: 'm', input: [[1, 2, 3]] })).message, /'input'.*token arrays are not supported/);
    assert.equal(refusal(() => parseRequestBody(OpenAiEmbeddingRequest, { model: 'm', input: 'x', encoding_format: 'int8' })).param, 'encoding_format');
    assert.equal(refusal(() => parseRequestBody(OpenAiEmbeddingRequest, { model: 'm', input: 'x', truncate: true })).param, 'truncate');
    assert.equal(refusal(() => parseRequestBody(OpenAiEmbeddingRequest, { model: 'm', input: '' })).param, 'input');
    assert.equal(refusal(() => parseRequestBody(OpenAiEmbeddingRequest, { model: 'm', input: new Array(MAX_EMBEDDING_INPUTS + 1).fill('x') })).param, 'input');
    assert.match(refusal(() => parseRequestBody(OllamaEmbedRequest, { model: 'm', input: 'x', truncate: true })).message, /truncate is not supported/);
    assert.equal(refusal(() => parseRequestBody(OllamaEmbedRequest, { model: 'm', input: 'x', options: { temperature: 1 } })).param, 'options.temperature');
  });
  it('refuse a dimensions other than the model’s with 400 naming both', () => {
    const embeddings = embeddingVectorsOf([[1, 0, 0]]);
    checkDimensions(undefined, embeddings, 'm');
    checkDimensions(3, embeddings, 'm');
    const error = refusal(() => checkDimensions(2, embeddings, 'm'));
    assert.equal(error.status, 400);
    assert.equal(error.param, 'dimensions');
    assert.match(error.message, /computes 3-dimensional/);
  });
  it('answer unit-length vectors, as floats or as OpenAI’s base64 float32', () => {
    const embeddings = embeddingVectorsOf([[3, 4], [0, 0]]);
    assert.deepEqual(normalizedVectors(embeddings), [[Math.fround(0.6), Math.fround(0.8)], [0, 0]]);
    const request = parseRequestBody(OpenAiEmbeddingRequest, { model: 'm', input: ['a', 'b'], encoding_format: 'base64' });
    const list = openAiEmbeddingList(request, embeddings, 7);
    assert.deepEqual(decodeEmbeddingVector(list.data[0]!.embedding as string), [Math.fround(0.6), Math.fround(0.8)]);
    assert.deepEqual(list.usage, { prompt_tokens: 7, total_tokens: 7 });
    assert.deepEqual(openAiEmbeddingList({ ...request, encoding_format: 'float' }, embeddings, 7).data[1], { object: 'embedding', index: 1, embedding: [0, 0] });
  });
});
