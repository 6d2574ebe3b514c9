// What of a job spec its provider may see. The verification policy stays with the client and the aggregator (it
// travels in job.request): a provider that could read it would run checked jobs honestly and cut corners on the rest
// (threat model, attack 4). Pure, so that the phone seals exactly what the node seals.
import type { JobSpec } from './schemas.js';

/** The spec as sealed to its provider: everything but the verification policy (which parses back as none). */
export function providerSpecOf(spec: JobSpec): Omit<JobSpec, 'verification'> {
  const { verification: _policy, ...visible } = spec;
  return visible;
}
