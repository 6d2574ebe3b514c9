// docs/job-lifecycle.md rendered from the state machine's table, so that the document cannot drift from the moves
// the code allows (src/docs/docs.test.ts compares them).
import { JOB_STATE_MEANINGS, JOB_STATES, JOB_TRANSITION_NOTES, nextStatesOf, type JobState } from './state-machine.js';

export function renderJobLifecycleDoc(): string {
  const lines = [
    '# A job\'s life',
    '',
    '> Generated from `src/jobs/state-machine.ts` by `npm run docs:protocol`; a test fails when this file and the',
    '> state machine disagree. Edit the state machine, not this file.',
    '',
    'Every node keeps a record per job and role (client, aggregator, provider) and moves it only along these',
    'transitions, persisting each one (with an event) before acting on it. Payments follow from the states: an',
    'aggregator releases the escrow of a `completed` job and refunds a `failed` or `cancelled` one; a job in',
    '`verifying` is neither paid nor refunded, and a restarted aggregator waits for its verdict until the deadline',
    'persisted with it.',
    '',
    '## States',
    '',
    '| State | Meaning | Next states |',
    '| --- | --- | --- |',
    ...JOB_STATES.map((state) => `| \`${state}\` | ${JOB_STATE_MEANINGS[state]} | ${nextStatesOf(state).map((next) => `\`${next}\``).join(', ') || '(final)'} |`),
    '',
    '## Transitions worth a word',
    '',
    ...Object.entries(JOB_TRANSITION_NOTES).map(([move, why]) => `- \`${move}\`: ${why}.`),
    '',
    'A state from `created` to `running` may also move to `failed` (an error, a missed deadline, a node that stopped',
    'mid-job: recorded `interrupted` at its next start) or `cancelled` (by the client, or, code `interrupted`, a client',
    "job whose process ended before it did: the client's session closed with it, which cancels the job at the",
    'aggregator; `infernet jobs` and a daemon start record it so, src/jobs/orphaned-client-jobs.ts).',
    '',
    '## Diagram',
    '',
    '```mermaid',
    'stateDiagram-v2',
    ...JOB_STATES.flatMap((from: JobState) => nextStatesOf(from).map((to) => `  ${from} --> ${to}`)),
    '```',
    '',
  ];
  return lines.join('\n');
}
