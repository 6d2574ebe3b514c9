import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResponseStore } from './responses-store.js';

describe('the responses a node keeps', () => {
  it('forgets the oldest past its capacity, and a response put again counts as new', () => {
    const store = new ResponseStore(2);
    const entry = (id: string) => ({ response: { id }, conversation: [{ role: 'user', content: id }], inputItems: [] });
    store.put('a', entry('a'));
    store.put('b', entry('b'));
    store.put('a', entry('a'));
    store.put('c', entry('c'));
    assert.equal(store.size, 2);
    assert.equal(store.get('b'), undefined);
    assert.deepEqual(store.get('a'), entry('a'));
    assert.deepEqual(store.get('c'), entry('c'));
  });
});

describe('an unfinished background response in the store', () => {
  it('is kept past the capacity until it ends, the oldest ended ones going first', () => {
    const store = new ResponseStore(2);
    const entry = (id: string, pending: boolean) => ({ response: { id }, conversation: [], inputItems: [], ...(pending ? { pending: { request: { model: 'm', input: id }, history: [] } } : {}) });
    store.put('running', entry('running', true));
    store.put('a', entry('a', false));
    store.put('b', entry('b', false));
    assert.deepEqual(store.ids(), ['running', 'b']);
    store.put('running', entry('running', false));
    store.put('c', entry('c', false));
    assert.deepEqual(store.ids(), ['running', 'c'], 'ended, it is one more response to forget when its turn comes');
  });
});

describe('the bytes the kept responses take', () => {
  it('forgets the oldest once their JSON passes the byte budget, and keeps the newest whatever its size', () => {
    const entry = (text: string) => ({ response: {}, conversation: [{ role: 'user', content: text }], inputItems: [] });
    const store = new ResponseStore(100, 400);
    store.put('a', entry('x'.repeat(100)));
    store.put('b', entry('x'.repeat(100)));
    assert.equal(store.size, 2);
    store.put('c', entry('x'.repeat(100)));
    assert.equal(store.get('a'), undefined);
    assert.equal(store.size, 2);
    store.put('big', entry('x'.repeat(1000)));
    assert.equal(store.size, 1);
    assert.ok(store.get('big'));
  });
});

describe('forgetting a response (DELETE /v1/responses/{id})', () => {
  it('drops it and its bytes, and says whether it was kept', () => {
    const store = new ResponseStore(100, 400);
    const entry = { response: {}, conversation: [{ role: 'user', content: 'x'.repeat(100) }], inputItems: [] };
    store.put('a', entry);
    store.put('b', entry);
    assert.equal(store.delete('a'), true);
    assert.equal(store.delete('a'), false);
    assert.equal(store.get('a'), undefined);
    // Its bytes were given back: c fits beside b without b being forgotten (a, b and c together pass 400 bytes).
    store.put('c', entry);
    assert.ok(store.get('b'));
  });
});

describe('the responses a node keeps in its home', () => {
  it('are there after a restart, in order, without the forgotten and evicted ones or a file cut short', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infernet-responses-'));
    try {
      const entry = (text: string) => ({ response: { id: text }, conversation: [{ role: 'user', content: text }], inputItems: [] });
      const before = new ResponseStore(3, 1 << 20, dir);
      for (const id of ['resp_a', 'resp_b', 'resp_c', 'resp_d']) before.put(id, entry(id));
      before.delete('resp_c');
      await writeFile(join(dir, 'resp_torn.json'), '{"response": {"id"');
      const after = new ResponseStore(3, 1 << 20, dir);
      assert.equal(after.get('resp_a'), undefined, 'evicted past the capacity of 3');
      assert.equal(after.get('resp_c'), undefined, 'deleted');
      assert.deepEqual([after.get('resp_b'), after.get('resp_d')], [entry('resp_b'), entry('resp_d')]);
      assert.deepEqual((await readdir(dir)).sort(), ['resp_b.json', 'resp_d.json']);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
