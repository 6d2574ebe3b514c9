// Background responses on an API server that reaches no aggregator (its port closed): each stays queued, asking again,
// which holds them unfinished for as long as a test needs. Real server, real HTTP, real files.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { validateNodeConfig } from '../config/index.js';
import { generateNodeKey } from '../identity/index.js';
import { silentLogger } from '../log/index.js';
import { createApiKey } from './api-keys.js';
import { startApiServer, type ApiServer } from './api-server.js';
import { MAX_UNFINISHED_BACKGROUND_RESPONSES } from './background-responses.js';

const REQUEST = { model: 'stories260K', input: 'Once upon a time', max_output_tokens: 8, background: true };

interface Body {
  id: string;
  status: string;
  background: boolean;
  error: { code: string | null; param: string | null; message: string };
}

describe('background responses while no aggregator answers', () => {
  let dir: string;
  let key: string;
  let server: ApiServer;
  const start = async () =>
    startApiServer({ host: '127.0.0.1', port: 0, keysFile: join(dir, 'api-keys.json'), key: generateNodeKey(), agent: 'test', limits: validateNodeConfig({}, 'test').limits, logger: silentLogger(), aggregators: ['ws://127.0.0.1:9'], responsesDir: join(dir, 'responses') });
  const call = async (path: string, init: { body?: unknown; method?: string } = {}) => {
    const response = await fetch(server.url + path, {
      method: init.method ?? (init.body === undefined ? 'GET' : 'POST'),
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
      ...(init.body !== undefined ? { body: JSON.stringify(init.body) } : {}),
    });
    return { status: response.status, body: (await response.json()) as Body };
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infernet-background-'));
    key = (await createApiKey(join(dir, 'api-keys.json'))).key;
    server = await start();
  });
  after(() => server?.close());

  let kept: string;
  let cancelled: string;
  it('holds them queued, refuses one past its most unfinished with 429, and takes one again once a cancel frees a place', async () => {
    const ids: string[] = [];
    for (let index = 0; index < MAX_UNFINISHED_BACKGROUND_RESPONSES; index++) {
      const created = await call('/v1/responses', { body: REQUEST });
      assert.equal(created.status, 200);
      assert.equal(created.body.status, 'queued');
      ids.push(created.body.id);
    }
    const refused = await call('/v1/responses', { body: REQUEST });
    assert.equal(refused.status, 429);
    assert.equal(refused.body.error.code, 'rate_limit_exceeded');
    [kept, cancelled] = [ids[0]!, ids[1]!];
    assert.equal((await call(`/v1/responses/${cancelled}/cancel`, { method: 'POST' })).body.status, 'cancelled');
    assert.equal((await call('/v1/responses', { body: REQUEST })).status, 200);
    assert.equal((await call(`/v1/responses/${kept}`)).body.status, 'queued', 'refused for want of an aggregator, it asks again');
    // A place for the next test's response.
    assert.equal((await call(`/v1/responses/${ids[2]}/cancel`, { method: 'POST' })).status, 200);
  });

  it("streams a background response's events to a client reading on after the last it saw, and ends them on cancel", async () => {
    const abort = new AbortController();
    const posted = await fetch(`${server.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${key}` }, body: JSON.stringify({ ...REQUEST, stream: true }), signal: abort.signal });
    assert.equal(posted.headers.get('content-type'), 'text/event-stream; charset=utf-8');
    const reader = posted.body!.getReader();
    let first = '';
    while (!first.includes('\n\n')) first += new TextDecoder().decode((await reader.read()).value);
    abort.abort(); // the client goes away: the response stays queued
    const created = JSON.parse(/^data: (.*)$/m.exec(first)![1]!) as { type: string; sequence_number: number; response: Body };
    assert.deepEqual([created.type, created.sequence_number, created.response.status], ['response.created', 0, 'queued']);
    const id = created.response.id;

    const following = await fetch(`${server.url}/v1/responses/${id}?stream=true&starting_after=0`, { headers: { authorization: `Bearer ${key}` } });
    assert.equal(following.status, 200);
    assert.equal((await call(`/v1/responses/${id}/cancel`, { method: 'POST' })).body.status, 'cancelled');
    assert.equal(await following.text(), '', 'nothing after response.created, and the stream ends with the cancel');
    const all = await (await fetch(`${server.url}/v1/responses/${id}?stream=true`, { headers: { authorization: `Bearer ${key}` } })).text();
    assert.equal(all, first, 'read from the start, the one event it had');

    const badCursor = await call(`/v1/responses/${id}?stream=true&starting_after=-1`);
    assert.deepEqual([badCursor.status, badCursor.body.error.param], [400, 'starting_after']);
    const notStreamed = await call(`/v1/responses/${kept}?stream=true`);
    assert.deepEqual([notStreamed.status, notStreamed.body.error.param], [400, 'stream']);
  });

  it('leaves them unfinished when the server closes, and queues them again when one starts on the same directory', async () => {
    await server.close();
    server = await start();
    assert.equal((await call(`/v1/responses/${kept}`)).body.status, 'queued');
    assert.equal((await call(`/v1/responses/${cancelled}`)).body.status, 'cancelled');
    assert.equal((await call(`/v1/responses/${kept}`, { method: 'DELETE' })).status, 200);
    assert.equal((await call(`/v1/responses/${kept}`)).status, 404);
  });
});
