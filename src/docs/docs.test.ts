import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { PROTOCOL_DOC_URL, renderProtocolDocument } from './render-docs.js';

it('docs/protocol.md matches the job and discovery schemas (run `npm run docs:protocol` after changing them)', () => {
  assert.equal(readFileSync(PROTOCOL_DOC_URL, 'utf8'), renderProtocolDocument());
});
