import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { it } from 'node:test';
import { isLegalTransition, JOB_TRANSITION_NOTES, type JobState } from '../jobs/state-machine.js';
import { JOB_LIFECYCLE_DOC_URL, PROTOCOL_DOC_URL, renderJobLifecycleDocument, renderProtocolDocument } from './render-docs.js';

it('docs/protocol.md matches the job and discovery schemas (run `npm run docs:protocol` after changing them)', () => {
  assert.equal(readFileSync(PROTOCOL_DOC_URL, 'utf8'), renderProtocolDocument());
});

it('docs/job-lifecycle.md matches the job state machine (run `npm run docs:protocol` after changing it)', () => {
  assert.equal(readFileSync(JOB_LIFECYCLE_DOC_URL, 'utf8'), renderJobLifecycleDocument());
});

it('explains only transitions the state machine allows', () => {
  for (const move of Object.keys(JOB_TRANSITION_NOTES)) {
    const [from, to] = move.split(' -> ') as [JobState, JobState];
    assert.ok(isLegalTransition(from, to), `${move} is not a legal transition`);
  }
});
