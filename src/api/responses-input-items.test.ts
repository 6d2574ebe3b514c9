import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { inputItemsOf, pageOfInputItems } from './responses-input-items.js';
import { ApiError } from './api-error.js';

describe("a response's input items", () => {
  it('lists a string input as one user message with an input_text part', () => {
    assert.deepEqual(inputItemsOf('Hello', 'resp_abc'), [{ id: 'msg_abc_0', type: 'message', role: 'user', status: 'completed', content: [{ type: 'input_text', text: 'Hello' }] }]);
  });

  it('keeps the ids a client gave, names the rest, and lists function calls and their outputs', () => {
    const items = inputItemsOf(
      [
        { role: 'user', content: 'Weather?' },
        { type: 'function_call', id: 'fc_given', call_id: 'call_1', name: 'weather', arguments: '{}' },
        { type: 'function_call_output', call_id: 'call_1', output: 'sunny' },
        { role: 'assistant', content: 'It is sunny.' },
      ],
      'resp_xyz',
    );
    assert.deepEqual(items.map((item) => item.id), ['msg_xyz_0', 'fc_given', 'fco_xyz_2', 'msg_xyz_3']);
    assert.deepEqual(items[2], { id: 'fco_xyz_2', type: 'function_call_output', status: 'completed', call_id: 'call_1', output: 'sunny' });
    assert.deepEqual(items[3]!.content, [{ type: 'output_text', text: 'It is sunny.' }]);
  });
});

describe('a page of input items', () => {
  const items = inputItemsOf(Array.from({ length: 5 }, (_, index) => ({ role: 'user' as const, content: `turn ${index}` })), 'resp_p');
  const page = (query: string) => pageOfInputItems(items, new URLSearchParams(query));

  it('lists the newest first by default, 20 at most', () => {
    assert.deepEqual(page('').data.map((item) => item.id), ['msg_p_4', 'msg_p_3', 'msg_p_2', 'msg_p_1', 'msg_p_0']);
    assert.equal(page('').has_more, false);
  });

  it('pages with limit and after in either order', () => {
    const first = page('order=asc&limit=2');
    assert.deepEqual([first.data.map((item) => item.id), first.first_id, first.last_id, first.has_more], [['msg_p_0', 'msg_p_1'], 'msg_p_0', 'msg_p_1', true]);
    const next = page(`order=asc&limit=2&after=${first.last_id}`);
    assert.deepEqual(next.data.map((item) => item.id), ['msg_p_2', 'msg_p_3']);
    assert.deepEqual(page('limit=2&before=msg_p_1').data.map((item) => item.id), ['msg_p_4', 'msg_p_3']);
  });

  it('refuses a limit, order or cursor it cannot honour with 400 naming the parameter', () => {
    for (const [query, param] of [['limit=0', 'limit'], ['limit=101', 'limit'], ['limit=two', 'limit'], ['order=newest', 'order'], ['after=msg_elsewhere', 'after']] as const) {
      assert.throws(() => page(query), (error: unknown) => error instanceof ApiError && error.status === 400 && error.param === param, query);
    }
  });
});
