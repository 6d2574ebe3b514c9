// The reputation part of docs/protocol.md, rendered from the outcome event's tag schema.
import { z } from 'zod';
import { REPUTATION_TOPIC } from '../discovery/constants.js';
import { EVENT_KIND_JOB_OUTCOME, JOB_OUTCOME_TOPIC_TAG, JobOutcomeTags, MAX_EVENTS_PER_GOSSIP, MAX_OUTCOME_CLOCK_SKEW_S } from './reputation-event.js';
import { DEFAULT_HALF_LIFE_MS, MAX_WEIGHT_PER_RATER, OUTCOME_WEIGHTS } from './reputation-score.js';

const OVERVIEW = `
## Verification and reputation

- **Policies** (JobSpec \`verification\`): \`none\`; \`redundant\` with \`k\` (k providers run the job and must agree);
  \`sampled\` with \`p\` (with probability p the client has a second provider re-run it). A check is an ordinary job under a
  fresh random job id through the aggregator (\`job.request\` \`exclude\` keeps it off providers that already ran it), so
  no provider can tell a checked job, or a check, from any other. Providers record per-token fingerprints (chosen token,
  its logprob, the top alternatives) for every job with a policy and sign their hash in the result's \`fingerprint_hash\` tag.
- **Comparison** (by the client, which alone can decrypt): equal output hashes agree; otherwise the fingerprints are
  walked token by token, logprobs within 0.05, and a different token is accepted only at a near-tie, after which the
  texts may part. Disagreeing runs are settled by a further execution on a third provider: a strict majority wins, the
  runs outside it are \`failed\`.
- **Verdict**: the client sends \`job.verdict\`; the aggregator checks it against the signed output hashes it relayed
  (a run whose hash equals a verified run's is never blamed), then publishes one outcome event per run.
- **Outcome events**: kind ${EVENT_KIND_JOB_OUTCOME}, signed by the aggregator (or client) that witnessed the run,
  published to the node's Nostr relays and on the gossip topic \`${REPUTATION_TOPIC}\` in batches (a message a second, sooner once ${MAX_EVENTS_PER_GOSSIP} events wait), as
  \`{"v":1,"events":[<event>, ...]}\`.
  Receivers verify id and signature, the tags below, and refuse events dated more than ${MAX_OUTCOME_CLOCK_SKEW_S} s ahead
  and providers rating themselves. All carry \`["t", "${JOB_OUTCOME_TOPIC_TAG}"]\`.
- **Score** of a provider in [0, 1], (1 + good) / (2 + good + bad): each event weighs the rater's standing (1 for the node
  itself and the raters it trusts; others only earn it as well-rated providers), the job's value (a quarter for a free job,
  rising towards 1 with the amount paid), and half as much every ${Math.round(DEFAULT_HALF_LIFE_MS / 86_400_000)} days.
  Outcomes weigh: ${Object.entries(OUTCOME_WEIGHTS).map(([kind, w]) => `${kind} +${w.positive}/-${w.negative}`).join(', ')}; one rater adds at
  most ${MAX_WEIGHT_PER_RATER} to a provider's good or bad evidence.
`;

function schemaBlock(schema: z.ZodType): string {
  return '```json\n' + JSON.stringify(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }), null, 2) + '\n```\n';
}

export function renderReputationDoc(): string {
  return [OVERVIEW, `\n### Tags of the kind-${EVENT_KIND_JOB_OUTCOME} outcome event\n\n${schemaBlock(JobOutcomeTags)}`].join('');
}
