import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { SamplingParams } from '../../protocol/index.js';
import { PromptTooLongError, type GeneratedPiece } from '../inference-engine.js';
import { VllmDeadlineError, VllmRequestError, VllmUnsupportedJobError } from './vllm-errors.js';
import { eventually, failNextCompletion, standInEngine, standInRecord } from './vllm-test-support.js';

const model = '/models/stand-in-model';
const sampling = (overrides: Partial<SamplingParams> = {}) => SamplingParams.parse({ maxTokens: 12, ...overrides });
/** BOS, then the prompt's UTF-8 bytes: the stand-in's tokenizer. */
const promptTokensOf = (text: string) => [1, ...[...Buffer.from(text, 'utf8')].map((byte) => byte + 3)];

describe('VllmEngine against a stand-in vLLM server (a child process in place of vllm serve)', () => {
  const engine = standInEngine({ launcher: { maxModelLength: 256 } });
  after(() => engine.close());
  const baseUrl = () => engine.status()[0]!.baseUrl!;

  it('streams pieces that concatenate to the final text, their token ids in order, with the prompt sent as token ids', async () => {
    const pieces: GeneratedPiece[] = [];
    const result = await engine.generate({ modelPath: model, input: { prompt: 'Once upon a time' }, sampling: sampling(), onText: (piece) => pieces.push(piece) });
    assert.equal(result.finishReason, 'length');
    assert.equal(result.tokenIds.length, 12);
    assert.equal(pieces.map((piece) => piece.text).join(''), result.text);
    assert.deepEqual(pieces.flatMap((piece) => piece.tokenIds), result.tokenIds);
    assert.ok(result.text.length > 12);
    assert.equal(result.promptTokens, promptTokensOf('Once upon a time').length);
    assert.ok(result.firstTokenMs > 0 && result.totalMs >= result.firstTokenMs);
    const sent = (await standInRecord(baseUrl())).completions.at(-1)!;
    assert.deepEqual(sent.prompt, promptTokensOf('Once upon a time'));
    assert.equal(sent.stream, true);
    assert.equal(sent.return_tokens_as_token_ids, true);
    assert.equal(sent.max_tokens, 12);
    assert.equal(sent.model, 'stand-in-model');
    assert.equal(engine.id, 'vllm@0.0.0-stand-in', "named after the version the server's GET /version answers");
    const again = await engine.generate({ modelPath: model, input: { prompt: 'Once upon a time' }, sampling: sampling() });
    assert.deepEqual(again.tokenIds, result.tokenIds, 'greedy: the same tokens again');
  });

  it("renders a chat through the server's /tokenize (the model's template) and sends the result as token ids", async () => {
    const result = await engine.generate({ modelPath: model, input: { messages: [{ role: 'user', content: 'hi' }] }, sampling: sampling({ maxTokens: 3 }) });
    const rendered = promptTokensOf('<|user|>hi\n<|assistant|>');
    assert.equal(result.promptTokens, rendered.length);
    assert.deepEqual((await standInRecord(baseUrl())).completions.at(-1)!.prompt, rendered);
  });

  it("records per token the chosen token's logprob and k alternatives, best first, and each token's text when logprobs are asked", async () => {
    const result = await engine.generate({ modelPath: model, input: { prompt: 'fingerprints' }, sampling: sampling(), fingerprintTopK: 4, logprobsTopK: 2 });
    assert.equal((await standInRecord(baseUrl())).completions.at(-1)!.logprobs, 4);
    assert.deepEqual(result.fingerprints!.map((f) => f.token), result.tokenIds);
    for (const f of result.fingerprints!) {
      assert.equal(f.top.length, 4);
      assert.deepEqual(f.top[0], [f.token, f.logprob], 'greedy: the chosen token is the most likely');
      assert.ok(f.top.every(([, logprob], i) => i === 0 || logprob <= f.top[i - 1]![1]));
    }
    assert.equal(result.tokenLogprobs!.length, result.tokenIds.length);
    assert.equal(result.tokenLogprobs!.map((t) => t.token).join(''), result.text);
    assert.ok(result.tokenLogprobs!.every((t, i) => t.top.length === 2 && t.logprob === result.fingerprints![i]!.logprob && t.top[0]!.token === t.token));
    const plain = await engine.generate({ modelPath: model, input: { prompt: 'fingerprints' }, sampling: sampling() });
    assert.equal(plain.fingerprints, undefined);
    assert.deepEqual(plain.tokenIds, result.tokenIds);
  });

  it('continues a generation from the earlier tokens: the prompt plus those tokens go as the prompt, and the rest follows as uninterrupted', async () => {
    const whole = await engine.generate({ modelPath: model, input: { prompt: 'continue me' }, sampling: sampling() });
    const earlier = whole.tokenIds.slice(0, 5);
    const rest = await engine.generate({ modelPath: model, input: { prompt: 'continue me' }, sampling: sampling({ maxTokens: 7 }), continueFrom: earlier });
    assert.deepEqual((await standInRecord(baseUrl())).completions.at(-1)!.prompt, [...promptTokensOf('continue me'), ...earlier]);
    assert.deepEqual(rest.tokenIds, whole.tokenIds.slice(5));
    assert.ok(whole.text.endsWith(rest.text) && rest.text.length > 0);
    assert.equal(rest.promptTokens, promptTokensOf('continue me').length, 'the earlier tokens are not counted as prompt');
  });

  it('ends before a stop sequence, the streamed text equal to the final one', async () => {
    const whole = await engine.generate({ modelPath: model, input: { prompt: 'stop here' }, sampling: sampling() });
    const stop = whole.text.slice(8, 12);
    const pieces: string[] = [];
    const stopped = await engine.generate({ modelPath: model, input: { prompt: 'stop here' }, sampling: sampling({ stop: [stop] }), onText: (piece) => pieces.push(piece.text) });
    assert.equal(stopped.finishReason, 'stop');
    assert.equal(stopped.text, whole.text.slice(0, whole.text.indexOf(stop)));
    assert.equal(pieces.join(''), stopped.text);
  });

  it('finds a stop sequence that straddles a failover: the earlier text is scanned before the new', async () => {
    const whole = await engine.generate({ modelPath: model, input: { prompt: 'straddle' }, sampling: sampling() });
    const pieces = await Promise.all(whole.tokenIds.slice(0, 4).map((_, i) => engine.generate({ modelPath: model, input: { prompt: 'straddle' }, sampling: sampling({ maxTokens: i + 1 }) })));
    const before = pieces[2]!.text; // text of the first three tokens
    const next = pieces[3]!.text.slice(before.length);
    const stop = before.slice(-2) + next.slice(0, 2);
    const rest = await engine.generate({ modelPath: model, input: { prompt: 'straddle' }, sampling: sampling({ stop: [stop] }), continueFrom: whole.tokenIds.slice(0, 3) });
    assert.equal(rest.finishReason, 'stop');
    assert.equal(rest.text, '');
    assert.deepEqual(rest.tokenIds, [whole.tokenIds[3]]);
  });

  it("ends on the model's end-of-sequence token without counting it among the output's tokens", async () => {
    const result = await engine.generate({ modelPath: model, input: { prompt: 'short [eos after 3]' }, sampling: sampling() });
    assert.equal(result.finishReason, 'stop');
    assert.equal(result.tokenIds.length, 3);
    assert.ok(!result.tokenIds.includes(2));
    // With a stop string vLLM holds the last characters back, and sends them in the final chunk beside the end token.
    const held = await engine.generate({ modelPath: model, input: { prompt: 'short [eos after 3]' }, sampling: sampling({ stop: ['zzz'] }) });
    assert.deepEqual(held.tokenIds, result.tokenIds);
    assert.equal(held.text, result.text);
  });

  it("refuses a prompt longer than the server's context, and bounds max_tokens by what the context has left", async () => {
    await assert.rejects(engine.generate({ modelPath: model, input: { prompt: 'x'.repeat(300) }, sampling: sampling() }), PromptTooLongError);
    const prompt = 'y'.repeat(250);
    const result = await engine.generate({ modelPath: model, input: { prompt }, sampling: sampling({ maxTokens: 100 }) });
    assert.equal(result.tokenIds.length, 256 - promptTokensOf(prompt).length);
    assert.equal(result.finishReason, 'length');
  });

  it('fails a job the server refuses or breaks off with the reason, and serves the next job', async () => {
    await failNextCompletion(baseUrl(), 'status');
    await assert.rejects(engine.generate({ modelPath: model, input: { prompt: 'a' }, sampling: sampling() }), (error) => error instanceof VllmRequestError && error.code === 'engine_failed' && /500: the stand-in was told to fail/.test(error.message));
    await failNextCompletion(baseUrl(), 'mid-stream');
    await assert.rejects(engine.generate({ modelPath: model, input: { prompt: 'a' }, sampling: sampling() }), (error) => error instanceof VllmRequestError && /mid-stream/.test(error.message));
    assert.equal((await engine.generate({ modelPath: model, input: { prompt: 'a' }, sampling: sampling() })).tokenIds.length, 12);
  });

  it('serves jobs side by side, each with the tokens it gets alone', async () => {
    const prompts = ['one', 'two', 'three'];
    const alone = [];
    for (const prompt of prompts) alone.push((await engine.generate({ modelPath: model, input: { prompt }, sampling: sampling() })).tokenIds);
    const together = await Promise.all(prompts.map((prompt) => engine.generate({ modelPath: model, input: { prompt }, sampling: sampling() })));
    assert.deepEqual(together.map((result) => result.tokenIds), alone);
  });

  it('refuses a continuation with penalties, which vLLM would not count over the earlier tokens', async () => {
    await assert.rejects(engine.generate({ modelPath: model, input: { prompt: 'a' }, sampling: sampling({ presencePenalty: 0.5 }), continueFrom: [300] }), VllmUnsupportedJobError);
  });
});

describe('VllmEngine cancelling requests to a slow stand-in vLLM server (a child process in place of vllm serve)', () => {
  const engine = standInEngine({ env: { VLLM_STAND_IN_TOKEN_DELAY_MS: '30' } });
  after(() => engine.close());
  const baseUrl = () => engine.status()[0]!.baseUrl!;

  it("closes the request when the job's signal aborts, and returns what was generated as cancelled", async () => {
    const controller = new AbortController();
    const result = await engine.generate({ modelPath: model, input: { prompt: 'abort me' }, sampling: sampling({ maxTokens: 2000 }), signal: controller.signal, onText: () => controller.abort() });
    assert.equal(result.finishReason, 'cancelled');
    assert.ok(result.tokenIds.length >= 1 && result.tokenIds.length < 2000);
    assert.ok(await eventually(async () => (await standInRecord(baseUrl())).cancelled === 1), 'the server saw the request closed');
  });

  it('cancels the request at the deadline and fails the job with deadline_exceeded', async () => {
    const before = (await standInRecord(baseUrl())).cancelled;
    await assert.rejects(engine.generate({ modelPath: model, input: { prompt: 'too slow' }, sampling: sampling({ maxTokens: 2000 }), deadlineMs: 300 }), (error) => error instanceof VllmDeadlineError && error.code === 'deadline_exceeded');
    assert.ok(await eventually(async () => (await standInRecord(baseUrl())).cancelled === before + 1), 'the server saw the request closed');
  });
});
