// A request's choices (n) on an all-in-one node whose provider has 3 slots: the choices after the first run at once,
// and those beyond the free slots wait for one and ask again, so every choice is answered.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { nodeHome, validateNodeConfig } from '../config/index.js';
import { generateNodeKey } from '../identity/index.js';
import { silentLogger } from '../log/index.js';
import { sharedModelPath } from '../models/shared-test-models.js';
import { NodeDaemon } from '../node/index.js';
import { createApiKey } from './api-keys.js';

interface Completion {
  choices: Array<{ index: number; message: { content: string }; finish_reason: string }>;
  usage: { prompt_tokens: number; completion_tokens: number };
}

describe('the choices of one chat completion (n)', () => {
  let node: NodeDaemon;
  let key: string;
  const chat = async (body: object): Promise<Completion> => {
    const response = await fetch(`${node.apiUrl}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify(body) });
    assert.equal(response.status, 200, await response.clone().text());
    return (await response.json()) as Completion;
  };
  const REQUEST = { model: 'stories260K', messages: [{ role: 'user', content: 'Tell me a story' }], max_tokens: 48, temperature: 0 };

  before(async () => {
    const home = nodeHome(await mkdtemp(join(tmpdir(), 'infernet-choices-')));
    key = (await createApiKey(home.apiKeysFile)).key;
    const config = validateNodeConfig({ role: 'all', listen: { port: 0 }, models: [sharedModelPath('stories260K.gguf')], provider: { sandbox: 'none', slots: 3 }, storage: { backend: 'file' }, api: { port: 0 } }, 'test');
    node = await NodeDaemon.start({ home, config, key: generateNodeKey(), logger: silentLogger(), writeState: false });
    while ((node.aggregator?.providerCount ?? 0) === 0) await new Promise((resolve) => setTimeout(resolve, 10));
  });
  after(() => node?.stop());

  it('answers every choice, more than the free slots, each greedy choice the answer of the request alone', async () => {
    const alone = (await chat(REQUEST)).choices[0]!.message.content;
    for (const n of [3, 8]) {
      const { choices, usage } = await chat({ ...REQUEST, n });
      assert.deepEqual(choices.map((choice) => choice.index), [...Array(n).keys()], `n=${n}: one choice per index, in order`);
      assert.deepEqual(new Set(choices.map((choice) => choice.message.content)), new Set([alone]));
      assert.equal(usage.completion_tokens, n * 48);
    }
  });

  it('streams the choices, each one whole once, when they run at once', async () => {
    const response = await fetch(`${node.apiUrl}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ ...REQUEST, n: 5, stream: true }) });
    const text = await response.text();
    const chunks = text
      .split('\n\n')
      .filter((event) => event.startsWith('data: {'))
      .map((event) => JSON.parse(event.slice('data: '.length)) as { choices: Array<{ index: number; delta: { content?: string }; finish_reason: string | null }> });
    const texts = new Map<number, string>();
    const finishes: number[] = [];
    for (const { choices } of chunks) {
      for (const choice of choices) {
        texts.set(choice.index, (texts.get(choice.index) ?? '') + (choice.delta.content ?? ''));
        if (choice.finish_reason) finishes.push(choice.index);
      }
    }
    assert.ok(text.endsWith('data: [DONE]\n\n'));
    assert.deepEqual(finishes.sort(), [0, 1, 2, 3, 4]);
    assert.equal(new Set(texts.values()).size, 1, 'five greedy choices, one text');
  });
});
