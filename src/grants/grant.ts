// A pairing grant: the node's signed statement that one phone key may submit jobs here within named limits.
// It is a Nostr event signed by the node key, so the phone (or anyone) can check who issued which limits.
import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { signEnvelope, verifyEnvelope, type NodeKey } from '../identity/index.js';
import { HexPublicKey, Price, type NostrEvent } from '../protocol/index.js';
import { InfernetError } from '../errors/index.js';

/** A parameterized replaceable kind in the application range; `d` is the grant id. */
export const EVENT_KIND_PAIRING_GRANT = 31950;

export const GrantLimits = z.object({
  /** Model names the phone may use; empty means any model the node can serve. */
  models: z.array(z.string().min(1).max(256)).max(64),
  maxTokens: z.number().int().min(1).max(32768),
  jobsPerHour: z.number().int().min(1).max(10_000),
  priceCap: Price.optional(),
  /** Unix milliseconds after which the grant is void. */
  expiresAt: z.number().int().positive(),
});
export type GrantLimits = z.infer<typeof GrantLimits>;

export const GrantTerms = z.object({
  grantId: z.string().regex(/^[0-9a-f]{16}$/),
  phone: HexPublicKey,
  node: HexPublicKey,
  limits: GrantLimits,
  issuedAt: z.number().int().positive(),
});
export type GrantTerms = z.infer<typeof GrantTerms>;

export class GrantSignatureError extends InfernetError {
  override readonly name = 'GrantSignatureError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('bad_signature', message, options);
  }
}

export const DEFAULT_GRANT_LIMITS = { models: [], maxTokens: 256, jobsPerHour: 30, days: 30 } as const;

export function newGrantId(): string {
  return randomBytes(8).toString('hex');
}

export function issueGrant(node: NodeKey, phone: string, limits: GrantLimits, now = Date.now()): { terms: GrantTerms; event: NostrEvent } {
  const terms = GrantTerms.parse({ grantId: newGrantId(), phone, node: node.publicKey, limits, issuedAt: now });
  const event = signEnvelope(node, {
    kind: EVENT_KIND_PAIRING_GRANT,
    tags: [
      ['d', terms.grantId],
      ['p', phone],
      ['expiration', String(Math.floor(limits.expiresAt / 1000))],
    ],
    content: JSON.stringify(terms),
  }, Math.floor(now / 1000));
  return { terms, event };
}

/** The terms of a grant event, once its signature, issuer and tags agree with its content. */
export function verifyGrant(event: NostrEvent, nodePublicKey: string): GrantTerms {
  let terms: GrantTerms;
  try {
    verifyEnvelope(event, { kind: EVENT_KIND_PAIRING_GRANT, pubkey: nodePublicKey });
    terms = GrantTerms.parse(JSON.parse(event.content));
  } catch (cause) {
    throw new GrantSignatureError(`grant event ${event.id.slice(0, 12)} is not a valid grant of node ${nodePublicKey.slice(0, 12)}: ${(cause as Error).message}`, { cause });
  }
  const tag = (name: string) => event.tags.find((entry) => entry[0] === name)?.[1];
  if (tag('d') !== terms.grantId || tag('p') !== terms.phone || terms.node !== nodePublicKey) {
    throw new GrantSignatureError(`grant event ${event.id.slice(0, 12)}: its tags do not match its terms`);
  }
  return terms;
}
