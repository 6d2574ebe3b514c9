// What a provider signs about how it is paid: its price, its EVM payout address and its Lightning node key, signed
// by its node key. The aggregator forwards it in job.match; the client pays only terms that agree with it, so an
// aggregator cannot name itself as the payee or inflate the provider's price (threat model, attack 6).
import { z } from 'zod';
import { signEnvelope, verifyEnvelope, type NodeKey } from '../../identity/index.js';
import { Price, type NostrEvent } from '../../protocol/index.js';

/** A replaceable Nostr event kind beside the provider record's (30950) and the aggregator record's (30952). */
export const EVENT_KIND_PAYOUT_STATEMENT = 30953;
const PAYOUT_STATEMENT_D_TAG = 'infernet-payout';

export const PayoutStatement = z
  .object({
    v: z.literal(1),
    price: Price.optional(),
    /** The EVM address an escrow deposit for this provider must pay. */
    evm: z.string().regex(/^0x[0-9a-fA-F]{40}$/).optional(),
    /** The compressed secp256k1 key of the LND node whose invoices are this provider's. */
    lightningNodeKey: z.string().regex(/^0[23][0-9a-f]{64}$/).optional(),
  })
  .strict();
export type PayoutStatement = z.infer<typeof PayoutStatement>;

export function signPayoutStatement(key: NodeKey, statement: Omit<PayoutStatement, 'v'>): NostrEvent {
  const content = PayoutStatement.parse({ v: 1, ...statement });
  return signEnvelope(key, { kind: EVENT_KIND_PAYOUT_STATEMENT, tags: [['d', PAYOUT_STATEMENT_D_TAG]], content: JSON.stringify(content) });
}

/**
 * The statement signed by `signer` (the matched provider, or the aggregator for its own address), or a reason it
 * cannot be trusted. A reason, not a throw: the caller refuses the payment under its own job id.
 */
export function readPayoutStatement(event: NostrEvent | undefined, signer: string, who: 'provider' | 'aggregator' = 'provider'): PayoutStatement | { refused: string } {
  if (!event) return { refused: who === 'provider' ? 'the match carries no payout statement signed by the provider: nothing binds the payee or the price to what the provider asked' : 'the match carries no statement signed by the aggregator: nothing binds the escrow\'s aggregator address to the aggregator this node talks to' };
  try {
    verifyEnvelope(event, { kind: EVENT_KIND_PAYOUT_STATEMENT, pubkey: signer, tags: { d: PAYOUT_STATEMENT_D_TAG } });
    return PayoutStatement.parse(JSON.parse(event.content));
  } catch (error) {
    return { refused: `the ${who}'s payout statement is not one it signed: ${(error as Error).message.slice(0, 200)}` };
  }
}
