import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { sharedModelPath } from '../models/shared-test-models.js';
import { SamplingParams } from '../protocol/index.js';
import { LlamaCppEngine, ModelLoadError, type GeneratedPiece } from './index.js';

const stories = sharedModelPath('stories260K.gguf');
const tinyRandom = sharedModelPath('llama-2-tiny-random.gguf');
const engine = new LlamaCppEngine({ threads: 1, contextSize: 512, slots: 2 });
const sampling = (overrides: Partial<SamplingParams> = {}) => SamplingParams.parse({ maxTokens: 48, ...overrides });

describe('LlamaCppEngine on real GGUF models', () => {
  after(() => engine.close());

  it('writes a coherent story greedily, the same twice', async () => {
    const first = await engine.generate({ modelPath: stories, input: { prompt: 'Once upon a time' }, sampling: sampling() });
    const second = await engine.generate({ modelPath: stories, input: { prompt: 'Once upon a time' }, sampling: sampling() });
    assert.match(first.text, /there was a little girl named Lily/);
    assert.deepEqual(second.tokenIds, first.tokenIds);
    assert.equal(second.text, first.text);
    assert.equal(first.promptTokens, 5); // BOS + 4 tokens, as llama.cpp's own server counts them
  });

  it('records a fingerprint per token when asked: the same tokens and text, logprobs identical across runs', async () => {
    const plain = await engine.generate({ modelPath: stories, input: { prompt: 'Once upon a time' }, sampling: sampling() });
    const run = () => engine.generate({ modelPath: stories, input: { prompt: 'Once upon a time' }, sampling: sampling(), fingerprintTopK: 3 });
    const [first, second] = [await run(), await run()];
    assert.equal(plain.fingerprints, undefined);
    assert.deepEqual(first.tokenIds, plain.tokenIds);
    assert.equal(first.text, plain.text);
    assert.deepEqual(first.fingerprints!.map((f) => f.token), first.tokenIds);
    assert.deepEqual(second.fingerprints, first.fingerprints);
    for (const f of first.fingerprints!) {
      assert.equal(f.top.length, 3);
      assert.equal(f.top[0]![0], f.token, 'greedy: the chosen token is the most likely');
      assert.ok(f.logprob <= 0 && Math.abs(f.top[0]![1] - f.logprob) < 1e-9);
    }
  });

  it('gives the same tokens for the same seed when sampling, other tokens for another seed', async () => {
    const run = (seed: number) => engine.generate({ modelPath: stories, input: { prompt: 'The dog' }, sampling: sampling({ temperature: 1, seed, maxTokens: 64 }) });
    const [a, b, c] = [await run(7), await run(7), await run(8)];
    assert.deepEqual(a.tokenIds, b.tokenIds);
    assert.notDeepEqual(a.tokenIds, c.tokenIds);
  });

  it('streams pieces that concatenate to the final text, and stops at max tokens', async () => {
    const pieces: GeneratedPiece[] = [];
    const result = await engine.generate({ modelPath: tinyRandom, input: { prompt: 'Hello' }, sampling: sampling({ maxTokens: 20 }), onText: (piece) => pieces.push(piece) });
    assert.equal(pieces.map((piece) => piece.text).join(''), result.text);
    assert.deepEqual(pieces.flatMap((piece) => piece.tokenIds), result.tokenIds);
    assert.equal(result.tokenIds.length, 20);
    assert.equal(result.finishReason, 'length');
  });

  it('stops before a stop sequence without streaming any of it', async () => {
    const pieces: string[] = [];
    const result = await engine.generate({ modelPath: stories, input: { prompt: 'Once upon a time' }, sampling: sampling({ stop: ['Lily'] }), onText: (piece) => pieces.push(piece.text) });
    assert.equal(result.finishReason, 'stop');
    assert.match(result.text, /named $/);
    assert.equal(pieces.join(''), result.text);
  });

  it('is cancelled by its abort signal mid-generation', async () => {
    const controller = new AbortController();
    const result = await engine.generate({
      modelPath: stories,
      input: { prompt: 'Once upon a time' },
      sampling: sampling({ maxTokens: 1000 }),
      signal: controller.signal,
      onText: () => controller.abort(),
    });
    assert.equal(result.finishReason, 'cancelled');
    assert.ok(result.tokenIds.length < 10);
  });

  it('runs chat messages through the model chat template', async () => {
    const result = await engine.generate({ modelPath: tinyRandom, input: { messages: [{ role: 'user', content: 'Hi there' }] }, sampling: sampling({ maxTokens: 8 }) });
    assert.ok(result.promptTokens > 3);
    assert.equal(result.tokenIds.length, 8);
  });

  it('runs two jobs at once on one loaded model, each as it would alone', async () => {
    const alone = await engine.generate({ modelPath: stories, input: { prompt: 'A cat' }, sampling: sampling() });
    const [x, y] = await Promise.all([
      engine.generate({ modelPath: stories, input: { prompt: 'A cat' }, sampling: sampling() }),
      engine.generate({ modelPath: stories, input: { prompt: 'Once upon a time' }, sampling: sampling() }),
    ]);
    assert.deepEqual(x.tokenIds, alone.tokenIds);
    assert.match(y.text, /Lily/);
  });

  const PERSON = { type: 'object', properties: { name: { type: 'string', maxLength: 12 }, age: { type: 'integer' }, happy: { type: 'boolean' }, pet: { enum: ['cat', 'dog'] } }, required: ['name', 'age', 'happy', 'pet'], additionalProperties: false };

  it('decodes JSON valid against a schema under its grammar, greedily and sampling', async () => {
    for (const temperature of [0, 1]) {
      const result = await engine.generate({ modelPath: stories, input: { prompt: 'Once upon a time' }, sampling: sampling({ temperature, seed: 3, maxTokens: 200, format: { type: 'json_schema', schema: PERSON } }) });
      assert.equal(result.finishReason, 'stop', 'the grammar ended the output');
      const person = JSON.parse(result.text) as Record<string, unknown>;
      assert.deepEqual(Object.keys(person).sort(), ['age', 'happy', 'name', 'pet']);
      assert.ok(typeof person.name === 'string' && person.name.length <= 12);
      assert.ok(Number.isInteger(person.age));
      assert.equal(typeof person.happy, 'boolean');
      assert.ok(['cat', 'dog'].includes(person.pet as string));
    }
  });

  it("fingerprints a grammar-constrained generation with finite logprobs only: tokens the grammar rules out are no alternatives", async () => {
    const result = await engine.generate({ modelPath: stories, input: { prompt: 'Once upon a time' }, sampling: sampling({ maxTokens: 60, format: { type: 'json_schema', schema: PERSON } }), fingerprintTopK: 4 });
    const fingerprints = result.fingerprints ?? [];
    assert.equal(fingerprints.length, result.tokenIds.length);
    const logprobs = fingerprints.flatMap((fingerprint) => [fingerprint.logprob, ...fingerprint.top.map(([, logprob]) => logprob)]);
    assert.deepEqual(logprobs.filter((logprob) => !Number.isFinite(logprob)), [], 'JSON carries no -Infinity');
    assert.ok(fingerprints.some((fingerprint) => fingerprint.top.length < 4), 'where the grammar allows one token, fewer than 4 alternatives');
  });

  it('decodes a JSON object under the json grammar', async () => {
    const result = await engine.generate({ modelPath: tinyRandom, input: { prompt: 'Hello' }, sampling: sampling({ maxTokens: 300, format: { type: 'json' } }) });
    if (result.finishReason === 'stop') assert.equal(typeof JSON.parse(result.text), 'object');
    else assert.match(result.text, /^\s*\{/, 'cut by its budget, but an object from its first character');
  });

  it('returns each token as text with its logprob and alternatives when asked, the chosen one first when greedy', async () => {
    const result = await engine.generate({ modelPath: stories, input: { prompt: 'Once upon a time' }, sampling: sampling({ maxTokens: 12 }), logprobsTopK: 2 });
    assert.equal(result.fingerprints, undefined, 'no verification fingerprints unless asked');
    assert.equal(result.tokenLogprobs?.length, 12);
    assert.equal(result.tokenLogprobs!.map((entry) => entry.token).join(''), result.text);
    for (const entry of result.tokenLogprobs!) {
      assert.equal(entry.top.length, 2);
      assert.deepEqual(entry.top[0], { token: entry.token, logprob: entry.logprob });
    }
  });

  it('bans a token with logit_bias -100 and penalises repeats with presence and frequency penalties', async () => {
    const plain = await engine.generate({ modelPath: stories, input: { prompt: 'Once upon a time' }, sampling: sampling() });
    const banned = plain.tokenIds[0]!;
    const biased = await engine.generate({ modelPath: stories, input: { prompt: 'Once upon a time' }, sampling: sampling({ logitBias: [[banned, -100]] }) });
    assert.ok(!biased.tokenIds.includes(banned));
    const penalised = await engine.generate({ modelPath: stories, input: { prompt: 'Once upon a time' }, sampling: sampling({ presencePenalty: 2, frequencyPenalty: 2 }) });
    assert.notDeepEqual(penalised.tokenIds, plain.tokenIds);
    const distinct = (ids: number[]) => new Set(ids).size / ids.length;
    assert.ok(distinct(penalised.tokenIds) > distinct(plain.tokenIds), 'fewer repeated tokens');
  });

  /** A run as a client saw it when its provider was lost after `kept` tokens: those tokens and the text streamed with them. */
  const lostAfter = (pieces: GeneratedPiece[], kept: number) => {
    let ids = 0;
    const streamed = pieces.filter((piece) => (ids += piece.tokenIds.length) <= kept);
    return { text: streamed.map((piece) => piece.text).join(''), tokenIds: streamed.flatMap((piece) => piece.tokenIds) };
  };

  it('continues after tokens another provider generated, a stop sequence straddling the failover found and the text held before it streamed', async () => {
    const input = { prompt: 'Once upon a time' };
    const plainPieces: GeneratedPiece[] = [];
    await engine.generate({ modelPath: stories, input, sampling: sampling(), onText: (piece) => plainPieces.push(piece) });
    // Lost right after "named": the earlier provider held it back, as the start of either stop sequence.
    let text = '';
    const cut = plainPieces.findIndex((piece) => (text += piece.text).endsWith('named'));
    assert.ok(cut > 0, 'the story names someone');
    const kept = plainPieces.slice(0, cut + 1).flatMap((piece) => piece.tokenIds).length;
    for (const stop of ['named Lily', 'named Tom']) {
      const pieces: GeneratedPiece[] = [];
      const whole = await engine.generate({ modelPath: stories, input, sampling: sampling({ stop: [stop] }), onText: (piece) => pieces.push(piece) });
      const received = lostAfter(pieces, kept);
      assert.equal(received.tokenIds.length, kept);
      assert.ok(!received.text.endsWith('named'), 'held back, not streamed');
      const restPieces: GeneratedPiece[] = [];
      const rest = await engine.generate({ modelPath: stories, input, sampling: sampling({ stop: [stop], maxTokens: 48 - kept }), continueFrom: received.tokenIds, onText: (piece) => restPieces.push(piece) });
      assert.equal(received.text + rest.text, whole.text, `stop ${stop}`);
      assert.equal(restPieces.map((piece) => piece.text).join(''), rest.text);
      assert.deepEqual([...received.tokenIds, ...rest.tokenIds], whole.tokenIds);
      assert.equal(rest.finishReason, whole.finishReason);
    }
  });

  it('counts a continuation\'s earlier tokens in presence and frequency penalties, as an uninterrupted run does', async () => {
    const input = { prompt: 'Once upon a time' };
    const penalties = { presencePenalty: 1, frequencyPenalty: 1 };
    const whole = await engine.generate({ modelPath: stories, input, sampling: sampling(penalties) });
    const kept = whole.tokenIds.slice(0, 16);
    const rest = await engine.generate({ modelPath: stories, input, sampling: sampling({ ...penalties, maxTokens: 48 - kept.length }), continueFrom: kept });
    assert.deepEqual([...kept, ...rest.tokenIds], whole.tokenIds);
  });

  it('refuses a missing file and a file that is not a GGUF model with ModelLoadError', async () => {
    await assert.rejects(engine.generate({ modelPath: '/nonexistent/model.gguf', input: { prompt: 'x' }, sampling: sampling() }), ModelLoadError);
    const junk = join(await mkdtemp(join(tmpdir(), 'model-')), 'junk.gguf');
    await writeFile(junk, 'this is not a model');
    await assert.rejects(engine.generate({ modelPath: junk, input: { prompt: 'x' }, sampling: sampling() }), ModelLoadError);
  });
});
