// `infernet reputation NPUB`: a provider's score on this node and the outcome events behind it.
import { parseArgs } from 'node:util';
import { KeyFileError, npubOf, publicKeyFromText } from '../../identity/index.js';
import { silentLogger } from '../../log/index.js';
import { openNodeStore } from '../../node/node-store.js';
import { reputationLedgerOf, scoreProviders, unprovenReputation, type StoredRating } from '../../reputation/index.js';
import { CliError } from '../cli-error.js';
import { openNode } from '../open-node.js';

export const REPUTATION_USAGE = `infernet reputation NPUB --home DIR [--json] [--limit N]`;

const DAY_MS = 24 * 60 * 60 * 1000;

export async function reputationCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { home: { type: 'string' }, json: { type: 'boolean' }, limit: { type: 'string' } } });
  const [who] = positionals;
  if (!who || positionals.length > 1) throw new CliError(`usage: ${REPUTATION_USAGE}`);
  let provider: string;
  try {
    provider = publicKeyFromText(who);
  } catch (error) {
    if (error instanceof KeyFileError) throw new CliError(error.message);
    throw error;
  }
  const limit = values.limit === undefined ? 100 : Number(values.limit);
  if (!Number.isInteger(limit) || limit < 1) throw new CliError(`--limit must be a positive whole number, got "${values.limit}"`);
  const { home, config, key } = await openNode(values.home);
  const nodeStore = await openNodeStore(home, config, silentLogger());
  // Every rating, not only this provider's: a rater's standing depends on what is said about it.
  const ratings = await reputationLedgerOf(home, nodeStore.pocketbase).load().finally(() => nodeStore.close());
  const scores = scoreProviders(ratings, { self: key.publicKey, trusted: config.reputation.trust.map(publicKeyFromText), now: Date.now(), halfLifeMs: config.reputation.halfLifeDays * DAY_MS });
  const reputation = scores.get(provider) ?? unprovenReputation();
  const events = ratings.filter((rating) => rating.provider === provider).slice(0, limit).map(eventSummary);
  const report = { npub: npubOf(provider), pubkey: provider, ...reputation, events };
  if (values.json) return console.log(JSON.stringify(report, null, 2));
  console.log(`${report.npub}  score ${reputation.score.toFixed(3)}  (${reputation.ratings} ratings; evidence +${reputation.positive.toFixed(2)} / -${reputation.negative.toFixed(2)})`);
  for (const event of events) console.log(`${new Date(event.createdAt).toISOString()}  ${event.outcome.padEnd(12)} ${event.jobId}  ${event.policy}  by ${event.raterNpub.slice(0, 16)}… via ${event.via}`);
}

function eventSummary(rating: StoredRating) {
  return {
    eventId: rating.eventId,
    rater: rating.rater,
    raterNpub: npubOf(rating.rater),
    jobId: rating.jobId,
    outcome: rating.outcome,
    policy: rating.policy,
    model: rating.model,
    value: rating.value,
    currency: rating.currency,
    createdAt: rating.createdAt,
    via: rating.via,
    reason: rating.reason,
  };
}
