import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseToolCall, ToolCallParser, type ToolCallPiece } from './tool-call-parser.js';

const CALL = '{ "name": "get_weather", "arguments": {"city": "Paris", "days": [1, 2]} }\n';

describe('reading a forced tool call as it streams', () => {
  it('gives the name once its string closes, then the arguments, holding back what may close the call', () => {
    const parser = new ToolCallParser();
    const pieces: ToolCallPiece[] = [];
    for (const character of CALL) pieces.push(...parser.push(character));
    assert.deepEqual(pieces[0], { name: 'get_weather' });
    const streamed = pieces.slice(1).map((piece) => ('arguments' in piece ? piece.arguments : '')).join('');
    assert.equal(streamed, '{"city": "Paris", "days": [1, 2]}');
    assert.deepEqual(parser.end(), { name: 'get_weather', arguments: '{"city": "Paris", "days": [1, 2]}', input: { city: 'Paris', days: [1, 2] } });
  });

  it('reads the same call from the whole output, with escapes in the name and nested objects', () => {
    assert.deepEqual(parseToolCall('{"name":"a\\u0062","arguments":{"o":{"p":{}}}}'), { name: 'ab', arguments: '{"o":{"p":{}}}', input: { o: { p: {} } } });
  });

  it('finds no call in output cut short by max_tokens, or in text that is not a call', () => {
    assert.equal(parseToolCall('{"name": "get_weather", "arguments": {"city": "Par'), undefined);
    assert.equal(parseToolCall('{"name": "get_weather", "arguments": {"city": "Paris"}'), undefined);
    assert.equal(parseToolCall('Once upon a time'), undefined);
    assert.equal(parseToolCall('{"name": "f", "arguments": [1]}'), undefined);
  });
});
