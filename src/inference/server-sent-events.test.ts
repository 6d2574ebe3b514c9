import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { serverSentEvents } from './server-sent-events.js';

/** A response body delivered in the chunks given, cut anywhere (mid-line, mid-character). */
function body(chunks: readonly (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  return new ReadableStream({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(typeof chunk === 'string' ? new TextEncoder().encode(chunk) : chunk);
      controller.close();
    },
  });
}

async function events(chunks: readonly (string | Uint8Array)[]): Promise<string[]> {
  const seen: string[] = [];
  for await (const data of serverSentEvents(body(chunks))) seen.push(data);
  return seen;
}

describe('serverSentEvents', () => {
  it('yields each event’s data across chunk cuts, CRLF lines and a character split in two', async () => {
    const e = new TextEncoder().encode('data: {"t":"é"}\n\n');
    assert.deepEqual(await events(['data: {"a"', ':1}\r\n\r\ndata: x\r\n', '\r\n', e.slice(0, 13), e.slice(13)]), ['{"a":1}', 'x', '{"t":"é"}']);
  });

  it('joins an event’s data lines, skips comments and events without data, and ends at [DONE]', async () => {
    assert.deepEqual(await events([': keep-alive\n\nevent: ping\n\ndata: one\ndata: two\n\ndata: [DONE]\n\ndata: after\n\n']), ['one\ntwo']);
  });
});
