// Whether one job request fits a phone's grant: a pure decision over the grant, the request and the times of
// the phone's recent jobs, so it is table-tested without a node.
import type { FrameOf, Price } from '../protocol/index.js';
import type { GrantTerms } from './grant.js';

export const JOB_WINDOW_MS = 60 * 60 * 1000;

export type GrantRefusalReason = 'revoked' | 'expired' | 'model' | 'max_tokens' | 'rate' | 'price_cap';

export interface GrantRefusal {
  reason: GrantRefusalReason;
  message: string;
}

export interface AdmitJobParameters {
  terms: GrantTerms;
  revokedAt?: number | undefined;
  request: Pick<FrameOf<'job.request'>, 'model' | 'maxTokens' | 'priceCap'>;
  /** Unix milliseconds of the jobs this phone was admitted for (older than an hour are ignored). */
  recentJobs: readonly number[];
  now: number;
}

export function admitJob({ terms, revokedAt, request, recentJobs, now }: AdmitJobParameters): GrantRefusal | null {
  const { limits } = terms;
  const refuse = (reason: GrantRefusalReason, message: string): GrantRefusal => ({ reason, message: `pairing grant ${terms.grantId}: ${message}` });
  if (revokedAt !== undefined) return refuse('revoked', `revoked at ${new Date(revokedAt).toISOString()}; pair the phone again`);
  if (now >= limits.expiresAt) return refuse('expired', `expired at ${new Date(limits.expiresAt).toISOString()}; pair the phone again`);
  if (limits.models.length && !limits.models.includes(request.model.name)) {
    return refuse('model', `model "${request.model.name}" is not granted (granted: ${limits.models.join(', ')})`);
  }
  if (request.maxTokens > limits.maxTokens) return refuse('max_tokens', `max tokens ${request.maxTokens} is above the granted ${limits.maxTokens}`);
  const lastHour = recentJobs.filter((at) => now - at < JOB_WINDOW_MS).length;
  if (lastHour >= limits.jobsPerHour) return refuse('rate', `${lastHour} jobs in the last hour reach the granted ${limits.jobsPerHour} per hour; try later`);
  if (limits.priceCap) {
    const wanted = `${limits.priceCap.amount} ${limits.priceCap.currency} per ${limits.priceCap.per}`;
    if (!request.priceCap) return refuse('price_cap', `the job must carry a price cap of at most ${wanted}`);
    if (!samePriceUnit(request.priceCap, limits.priceCap) || compareDecimals(request.priceCap.amount, limits.priceCap.amount) > 0) {
      return refuse('price_cap', `price cap ${request.priceCap.amount} ${request.priceCap.currency} per ${request.priceCap.per} is above the granted ${wanted}`);
    }
  }
  return null;
}

function samePriceUnit(a: Price, b: Price): boolean {
  return a.currency === b.currency && a.per === b.per;
}

/** Compares two non-negative decimal strings exactly (no float rounding): -1, 0 or 1. */
export function compareDecimals(a: string, b: string): number {
  const [aWhole = '0', aFraction = ''] = a.split('.');
  const [bWhole = '0', bFraction = ''] = b.split('.');
  const width = Math.max(aFraction.length, bFraction.length);
  const left = BigInt(aWhole + aFraction.padEnd(width, '0'));
  const right = BigInt(bWhole + bFraction.padEnd(width, '0'));
  return left === right ? 0 : left > right ? 1 : -1;
}
