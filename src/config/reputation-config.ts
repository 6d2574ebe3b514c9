// The `reputation` and `verification` sections of config.yaml.
import { z } from 'zod';
import { VerificationPolicy } from '../protocol/index.js';

const RelayUrl = z.string().regex(/^wss?:\/\/[^\s]+$/, 'must be a ws:// or wss:// URL');
const PublicKeyRef = z.string().regex(/^(npub1[02-9ac-hj-np-z]{58}|[0-9a-f]{64})$/, 'must be an npub or a 64-character hex public key');

export const ReputationConfig = z
  .object({
    /** Nostr relays that outcome events are published to and read from. */
    relays: z.array(RelayUrl).max(32).default([]),
    /** Raters (npub or hex) whose outcome events weigh fully, besides this node's own: aggregators you trust. */
    trust: z.array(PublicKeyRef).max(1024).default([]),
    /** A rating loses half its weight every this many days. */
    halfLifeDays: z.number().gt(0).max(3650).default(30),
  })
  .strict();
export type ReputationConfig = z.infer<typeof ReputationConfig>;

export const VerificationConfig = z
  .object({
    /** The policy `submit` and the API use when a job names none. */
    defaultPolicy: VerificationPolicy.default({ kind: 'none' }),
    /** Alternatives a provider records per token in its fingerprints (0: only the chosen token's logprob). */
    fingerprintTopK: z.number().int().min(0).max(16).default(4),
  })
  .strict();
export type VerificationConfig = z.infer<typeof VerificationConfig>;
