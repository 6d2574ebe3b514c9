import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ReplyTextReader, type ReplyPiece } from './reply-text-reader.js';

const pushEach = (reader: ReplyTextReader, output: string) => {
  const pieces: ReplyPiece[] = [];
  for (const character of output) pieces.push(...reader.push(character));
  return pieces;
};
const textOf = (pieces: ReplyPiece[]) => pieces.map((piece) => ('text' in piece ? piece.text : '')).join('');

describe('reading a reply as its grammar made the model write it', () => {
  it('passes plain text through', () => {
    const reader = new ReplyTextReader('text');
    assert.equal(textOf(pushEach(reader, 'Once upon a time')), 'Once upon a time');
    assert.deepEqual(reader.end('Once upon a time'), { text: 'Once upon a time' });
  });

  it('under auto, streams an answer in text as the decoded response string, escapes split across pieces included', () => {
    const output = '{ "response": "Lily said \\"hi\\"\\nto Tom \\u00e9" }';
    const reader = new ReplyTextReader('auto');
    const pieces = pushEach(reader, output);
    assert.ok(pieces.every((piece) => 'text' in piece));
    assert.equal(textOf(pieces), 'Lily said "hi"\nto Tom é');
    assert.deepEqual(reader.end(output), { text: 'Lily said "hi"\nto Tom é' });
  });

  it('under auto, streams a call as its name then its arguments, and ends as the call', () => {
    const output = '{"name": "get_time", "arguments": {"zone": "UTC"}}';
    const reader = new ReplyTextReader('auto');
    const pieces = pushEach(reader, output);
    assert.deepEqual(pieces[0], { name: 'get_time' });
    assert.equal(pieces.slice(1).map((piece) => ('arguments' in piece ? piece.arguments : '')).join(''), '{"zone": "UTC"}');
    assert.deepEqual(reader.end(output).call, { name: 'get_time', arguments: '{"zone": "UTC"}', input: { zone: 'UTC' } });
  });

  it('under auto, ends an answer cut short by the budget as the text that came, and a forced call cut short as its raw text', () => {
    assert.deepEqual(new ReplyTextReader('auto').end('{"response": "Once upon a ti'), { text: 'Once upon a ti' });
    assert.deepEqual(new ReplyTextReader('call').end('{"name": "get_time", "argu'), { text: '{"name": "get_time", "argu' });
  });
});
