// The preimage of a run's hold invoice belongs to the paying side, not to the provider (threat model, attack 7):
// a provider that made and kept it could settle the moment the client's HTLC is held, whatever the verdict. The
// client makes one secret per job request and seals it to its aggregator (the verdict witness); every payment of
// the job (each failover attempt, `<jobId>~N`) gets its own preimage derived from it, so that no provider can
// learn another's. The provider sees only the hash; the aggregator reveals the preimage in job.outcome for a
// verdict that pays (verified, unchecked, inconclusive, or the verdict window closed) and withholds it on failed.
import { createHash, randomBytes } from 'node:crypto';
import { conversationKeyOf, seal, unseal } from '../../identity/index.js';
import { InfernetError } from '../../errors/index.js';

/** Domain separation: the preimage is no other hash of the secret anyone might publish. */
const PREIMAGE_DOMAIN = 'infernet/hold-preimage/v1';
const HEX32 = /^[0-9a-f]{64}$/;

/** A sealed hold secret that does not open to 32 bytes: the client's, or a forged one. */
export class HoldSecretInvalidError extends InfernetError {
  override readonly name = 'HoldSecretInvalidError';
  constructor(reason: string, options?: { cause?: unknown }) {
    super('payment_required', `the job request's hold secret is unusable (${reason}): a client must send one to pay by Lightning here`, options);
  }
}

/** A preimage offered for a hold invoice does not hash to its payment hash. */
export class PreimageMismatchError extends InfernetError {
  override readonly name = 'PreimageMismatchError';
  constructor(readonly jobId: string) {
    super('invalid_frame', `the preimage given for job ${jobId} does not hash to its hold invoice's payment hash`);
  }
}

/** A fresh 32-byte secret, hex: one per job request. */
export function newHoldSecret(): string {
  return randomBytes(32).toString('hex');
}

/** The preimage of the hold invoice for one payment of a job (its id, or an attempt's `<jobId>~N`). */
export function runPreimageOf(secret: string, paymentId: string): string {
  return createHash('sha256').update(PREIMAGE_DOMAIN).update(Buffer.from(secret, 'hex')).update(paymentId).digest('hex');
}

/** sha256 of the preimage's bytes: the payment hash a hold invoice is made on. */
export function paymentHashOf(preimage: string): string {
  return createHash('sha256').update(Buffer.from(preimage, 'hex')).digest('hex');
}

/** The hash the client expects in the invoice of this payment. */
export function runPaymentHashOf(secret: string, paymentId: string): string {
  return paymentHashOf(runPreimageOf(secret, paymentId));
}

/** True when the preimage is 32 bytes of hex that hash to the payment hash. */
export function preimageMatches(preimage: string, paymentHash: string): boolean {
  return HEX32.test(preimage) && paymentHashOf(preimage) === paymentHash;
}

/** The secret sealed to the aggregator's key (NIP-44): only the aggregator reads it, whatever carries the frame. */
export function sealHoldSecret(secret: string, clientSecretKey: Uint8Array, aggregatorPublicKey: string): string {
  return seal(secret, conversationKeyOf(clientSecretKey, aggregatorPublicKey));
}

/** The aggregator's side of sealHoldSecret; HoldSecretInvalidError when it does not open to 32 bytes. */
export function openHoldSecret(sealed: string, aggregatorSecretKey: Uint8Array, clientPublicKey: string): string {
  let secret: string;
  try {
    secret = unseal(sealed, conversationKeyOf(aggregatorSecretKey, clientPublicKey));
  } catch (error) {
    throw new HoldSecretInvalidError('it does not open with this aggregator\'s key', { cause: error });
  }
  if (!HEX32.test(secret)) throw new HoldSecretInvalidError('not 32 bytes of hex');
  return secret;
}
