import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from './api-error.js';
import { anthropicModelPage } from './anthropic-models.js';

const MODELS = ['a', 'b', 'c', 'd', 'e'];
const CREATED = '2026-12-06T00:00:00.000Z';
const page = (query: string, models = MODELS) => anthropicModelPage(models, CREATED, new URLSearchParams(query));
const ids = (query: string) => page(query).data.map((model) => model.id);

/** Every model, as Anthropic's SDK walks the pages: after_id = last_id forward, before_id = first_id backward. */
function walk(first: string, direction: 'after_id' | 'before_id'): string[][] {
  const pages: string[][] = [];
  let query = first;
  for (let turn = 0; turn < MODELS.length + 1; turn++) {
    const current = page(query);
    pages.push(current.data.map((model) => model.id));
    if (!current.has_more) return pages;
    query = `limit=2&${direction}=${direction === 'after_id' ? current.last_id : current.first_id}`;
  }
  throw new Error('the pages never ended');
}

describe("Anthropic's model pages", () => {
  it('answers the first 20 with the first and last ids, and has_more only when more follow', () => {
    const all = page('');
    assert.deepEqual(all.data.map((model) => model.id), MODELS);
    assert.equal(all.has_more, false);
    assert.equal(all.first_id, 'a');
    assert.equal(all.last_id, 'e');
    assert.deepEqual(all.data[0], { type: 'model', id: 'a', display_name: 'a', created_at: CREATED, capabilities: null, deprecated_at: null, lifecycle: 'active', line: null, max_input_tokens: null, max_tokens: null, retires_at: null });
    const many = Array.from({ length: 25 }, (_, index) => `m${index}`);
    const first = page('', many);
    assert.equal(first.data.length, 20);
    assert.equal(first.has_more, true);
  });

  it('pages forward from after_id and backward to before_id, each model once', () => {
    assert.deepEqual(walk('limit=2', 'after_id'), [['a', 'b'], ['c', 'd'], ['e']]);
    assert.deepEqual(walk('limit=2&before_id=e', 'before_id'), [['c', 'd'], ['a', 'b']]);
    assert.deepEqual(ids('after_id=e'), []);
    assert.equal(page('after_id=e').first_id, null);
  });

  it('refuses a limit outside 1 to 1000, an unlisted cursor and both cursors at once, naming the field', () => {
    for (const [query, param] of [['limit=0', 'limit'], ['limit=1001', 'limit'], ['limit=2.5', 'limit'], ['limit=', 'limit'], ['after_id=z', 'after_id'], ['before_id=z', 'before_id'], ['after_id=a&before_id=c', 'after_id']] as const) {
      assert.throws(() => page(query), (error: unknown) => error instanceof ApiError && error.status === 400 && error.param === param, query);
    }
  });
});
