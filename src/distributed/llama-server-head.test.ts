import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { writeRandomLlamaGguf } from '../models/gguf/write-random-llama-gguf.js';
import { locateLlamaRpcBinaries } from './llama-rpc-binaries.js';
import { SamplingParams } from '../protocol/index.js';
import { continueGeneration, emptyProgress } from './head-generation.js';
import { HeadFailedError, LlamaServerHead } from './llama-server-head.js';

// A vocabulary of 512 of which 256 are byte tokens: random weights sample many tokens whose text ends mid-character.
const SHAPE = { name: 'infernet-random-bytes', layers: 1, hiddenSize: 64, heads: 2, kvHeads: 1, feedForwardLength: 128, vocabularySize: 512, contextLength: 256 };
const TOKENS = 48;

describe('a llama-server head streams every sampled token', () => {
  let dir: string;
  let head: LlamaServerHead;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infernet-head-'));
    const modelPath = join(dir, 'bytes.gguf');
    await writeRandomLlamaGguf(modelPath, SHAPE, { seed: 11, tensorType: 'F32' });
    head = await LlamaServerHead.start({ llamaServer: locateLlamaRpcBinaries().llamaServer, modelPath, threads: 1, contextSize: 256 });
  });
  after(async () => {
    await head?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('streams the ids of tokens whose text ends mid-character, in order: the ids a non-streamed completion returns', async () => {
    const prompt = await head.tokenize('Once upon a time');
    const ids: number[] = [];
    const pieces: string[] = [];
    let emptyPieces = 0;
    await head.complete({
      tokens: prompt,
      maxTokens: TOKENS,
      temperature: 0,
      onChunk: (chunk) => {
        ids.push(...chunk.tokenIds);
        pieces.push(chunk.text);
        if (!chunk.text && chunk.tokenIds.length) emptyPieces += 1;
      },
    });
    // The same request, not streamed: llama-server returns every generated token there.
    const response = await fetch(`${head.baseUrl}/completion`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ prompt, n_predict: TOKENS, stream: false, return_tokens: true, temperature: 0, cache_prompt: false }),
    });
    const whole = (await response.json()) as { tokens: number[]; content: string };
    assert.ok(emptyPieces > 0, 'some tokens ended mid-character (else this test proves nothing)');
    assert.deepEqual(ids, whole.tokens);
    assert.equal(pieces.join(''), whole.content);
  });

  it("honours a job's logit bias and output format (they were not passed to llama-server)", async () => {
    const prompt = await head.tokenize('Once upon a time');
    const forced = 300;
    const biased = { ...emptyProgress() };
    await continueGeneration(head, { modelPath: '', input: { prompt: '' }, sampling: SamplingParams.parse({ maxTokens: 8, logitBias: [[forced, 100]] }) }, prompt, biased, performance.now());
    assert.deepEqual(biased.tokenIds, Array(8).fill(forced));
    const schema = { type: 'object', properties: { colour: { enum: ['red', 'blue'] } }, required: ['colour'], additionalProperties: false };
    const formatted = { ...emptyProgress() };
    await continueGeneration(head, { modelPath: '', input: { prompt: '' }, sampling: SamplingParams.parse({ maxTokens: 96, format: { type: 'json_schema', schema } }) }, prompt, formatted, performance.now());
    assert.ok(['red', 'blue'].includes((JSON.parse(formatted.text) as { colour: string }).colour), formatted.text);
  });

  it('refuses to go on with an output format after tokens another head generated', async () => {
    const prompt = await head.tokenize('Once upon a time');
    const progress = { ...emptyProgress(), text: '{', tokenIds: [123] };
    const request = { modelPath: '', input: { prompt: '' }, sampling: SamplingParams.parse({ maxTokens: 8, format: { type: 'json' } }) };
    await assert.rejects(continueGeneration(head, request, prompt, progress, performance.now()), HeadFailedError);
  });
});
