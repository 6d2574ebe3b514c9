// Renders docs/protocol.md from the schemas, so the spec cannot drift from the code: a test compares the
// committed file with this output, and `npm run docs:protocol` rewrites it.
import { z } from 'zod';
import { ERROR_CODES } from './error-codes.js';
import { FRAME_SCHEMAS, JobOutput, JobSpec, TokenBatch } from './schemas.js';
import { EVENT_KIND_JOB_RESULT, EVENT_KIND_JOB_SPEC, EVENT_KIND_SESSION_AUTH, SUPPORTED_PROTOCOL_VERSIONS } from './version.js';

const INTRO = `# Infernet wire protocol

> Generated from \`src/protocol/schemas.ts\` by \`npm run docs:protocol\`; a test fails when this file and the schemas
> disagree. Edit the schemas, not this file.

Supported versions: ${SUPPORTED_PROTOCOL_VERSIONS.join(', ')}.

## Transport and session
- Frames are JSON text messages over a WebSocket. Every frame has \`v\` (protocol version) and \`type\`.
- On connect both sides send \`hello\` (versions spoken, node public key, role, a random 32-byte challenge).
  Each side picks the highest version both speak; if there is none it sends \`error\` \`unsupported_version\` and closes.
- Each side answers the peer's hello with \`auth\`: a Nostr event (NIP-01 id and schnorr signature) of kind
  ${EVENT_KIND_SESSION_AUTH}, signed by the key announced in hello, with tags \`["challenge", <peer challenge>]\` and
  \`["protocol", "infernet/<version>"]\`, created within 10 minutes. A verified auth is answered with \`ready\`.
  Before that, any other frame gets \`error\` \`unauthenticated\`.
- Limits (configurable): frame size, frames per second per connection, an idle timeout; both sides send
  \`heartbeat\` frames. A frame that breaks a rule gets an \`error\` frame naming the problem and is dropped;
  the session and every other session go on.

## A job
1. client -> aggregator \`job.request\` (model, token budget, deadline, price cap: no prompt).
2. aggregator -> client \`job.match\` (the provider's public key), or \`job.reject\` (\`no_provider\`).
3. client -> aggregator -> provider \`job.offer\`: a kind-${EVENT_KIND_JOB_SPEC} event signed by the client whose content is
   the JobSpec below, NIP-44 encrypted to the provider (tags \`p\` provider, \`job\` job id, \`model\`).
4. provider -> client (through the aggregator): \`job.accept\` or \`job.reject\`, \`job.progress\`, \`job.tokens\`
   (TokenBatch encrypted to the client), then \`job.result\`: a kind-${EVENT_KIND_JOB_RESULT} event signed by the provider whose
   content is the JobOutput below encrypted to the client, with tags \`p\` client, \`e\` spec event id, \`job\`,
   \`model\`, \`output_hash\` (sha256 of the UTF-8 output), \`tokens\`, \`engine\`.
5. \`job.cancel\` from the client (or the aggregator at the deadline, or when the client disconnects) stops it.

## Paying for a job
- A client that can pay lists its rails in \`job.request\` \`payment.rails\` (\`evm\`, \`lightning\`).
- An aggregator requires payment when it has a \`payments\` config section and the matched provider has a
  price: on \`evm\` (the JobEscrow) for a price in USDC if the aggregator settles escrows, on \`lightning\` for a price
  in sat. A client that offers no such rail, or a provider that names no payout for it (\`capabilities.payout\`), gets
  \`job.reject\` \`payment_required\`. A price in another currency leaves the job free.
- The amount is the price × maxTokens / 1000 (per \`1k_tokens\`) or the price (per \`job\`), in base units, rounded
  up; on \`evm\` the aggregator's fee (\`payments.feeBps\` of the amount) comes on top, and the escrow deadline is the
  job's deadline plus a settlement window.
- \`lightning\`: the preimage is the client's. Its \`job.request\` carries \`payment.holdSecret\` (32 random bytes
  sealed to the aggregator's key); each payment's preimage is sha256 of a domain tag, the secret and the payment id
  (the job id, or \`<jobId>~N\` for failover attempt N). At match time the aggregator sends the provider
  \`invoice.request\` with that preimage's hash; the provider answers \`invoice.offer\` with a hold invoice on that
  hash (or \`job.reject\` \`payment_missing\`). A request without a hold secret gets \`job.reject\`
  \`payment_required\` where the job would be paid by Lightning.
- \`job.match\` \`payment\` carries the terms. The client checks them against its own config (same chain, escrow and
  token as its own \`payments.evm\`; an amount no more than the price gives and within its price cap; a fee within
  its \`payments.maxFeeBps\`; an invoice whose amount and payment hash are the terms', the hash its own preimage's), pays (approve + deposit, or
  starts paying the hold invoice), and only then sends \`job.offer\`; else it sends \`job.cancel\`.
- Before dispatch the aggregator reads the deposit on chain (deposited; provider, aggregator, amount, fee and
  deadline as offered); the provider runs a job paid by hold invoice only once the invoice is ACCEPTED. Otherwise
  \`job.reject\` \`payment_missing\` and nothing runs.
- Settlement: the aggregator releases the escrow (or refunds it) on the run's verification outcome or failure; for a
  hold invoice it sends the provider \`job.outcome\` with the preimage (kept with the run's record until told, so a
  restart or an absent provider still gets it), and the provider checks it against the hash and settles; for a
  failed run no preimage comes and the provider cancels the invoice.

Encrypted payloads longer than NIP-44's 65,535-byte limit are split: the content is then a JSON array of
NIP-44 payloads whose plaintexts concatenate.
`;

function schemaBlock(schema: z.ZodType): string {
  return '```json\n' + JSON.stringify(z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }), null, 2) + '\n```\n';
}

export function renderProtocolDoc(): string {
  const parts = [INTRO, '\n## Frames\n'];
  for (const [type, schema] of Object.entries(FRAME_SCHEMAS)) {
    parts.push(`\n### \`${type}\`\n\n${schema.description ?? ''}\n\n${schemaBlock(schema)}`);
  }
  parts.push('\n## Encrypted payloads\n');
  parts.push(`\n### JobSpec\n\n${schemaBlock(JobSpec)}`);
  parts.push(`\n### TokenBatch\n\n${schemaBlock(TokenBatch)}`);
  parts.push(`\n### JobOutput\n\n${schemaBlock(JobOutput)}`);
  parts.push('\n## Error codes\n\n| code | meaning |\n| --- | --- |\n');
  for (const [code, meaning] of Object.entries(ERROR_CODES)) parts.push(`| \`${code}\` | ${meaning} |\n`);
  return parts.join('');
}
