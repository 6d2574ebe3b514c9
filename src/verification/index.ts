// Result verification: which jobs are re-run (policies none, redundant(k), sampled(p)), how two runs are compared
// (whole-output hash where decoding is bit-exact, per-token fingerprints within a tolerance where it is not), and
// how disagreeing runs are settled by a further execution.
//
// Who does what, given that prompts and outputs are end-to-end encrypted between client and provider:
// - The CLIENT orchestrates and compares (runVerifiedJob in src/client/run-verified-job.ts): it alone holds the spec
//   to re-seal and the plaintext
//   outputs and fingerprints. A check is an ordinary job with a fresh job id sent to another provider through the
//   aggregator, so neither provider can tell a checked job from any other.
// - The AGGREGATOR draws the provider of every check at random (job.request.checkOf). It witnesses: it relayed every run's signed result (provider, engine,
//   model, output hash, fingerprint hash) and accepts the client's job.verdict only when it agrees with them
//   (checkVerdictAgainstResults); a run is failed only when two checks agree against it by the aggregator's own
//   comparison of the fingerprints the client sends (independent-blame.ts). It then emits one VerificationOutcome
//   per run and publishes the signed reputation events (src/reputation).
//
// The outcome that settlement hooks onto (payments: pay a run unless its verdict is 'failed'):
//
//   interface VerificationOutcome {
//     jobId: string;          // the client's job this run belongs to (the primary run's job id)
//     runJobId: string;       // the job id of this run (equal to jobId for the primary run)
//     provider: string;       // hex public key of the provider that ran it
//     client: string;         // hex public key of the client
//     model: string;          // the model's network name
//     verdict: 'verified'     // a second execution agreed with it
//            | 'failed'       // found wrong: outvoted by the settling run; do not pay
//            | 'unchecked'    // policy none, or sampled(p) and not drawn: pay as usual
//            | 'inconclusive';// every run disagreed; nobody is blamed
//     policy: VerificationPolicy;
//     outputHash: string;     // sha256 of the output, from the provider's signed result tags
//     resultEventId: string;  // id of the provider's signed result event
//     price?: Price;          // what the provider asked, when known
//     tokens: number;
//     at: number;             // unix ms when decided
//   }
//
// AggregatorService.onVerification(listener) and NodeDaemon.onVerification(listener) deliver it on the
// aggregator; runVerifiedJob returns the same objects in `verification.outcomes` on the client.
export type { VerificationOutcome, VerificationVerdict, VerificationListener } from './verification-outcome.js';
export { compareRuns, type ComparableRun, type RunComparison } from './compare-runs.js';
export { fingerprintHash, FINGERPRINT_LOGPROB_TOLERANCE, type TokenFingerprint } from './token-fingerprint.js';
export { settleRuns, type SettledRuns } from './settle-runs.js';
export { blameIsIndependent, independentVerdicts, type JudgedRun } from './independent-blame.js';
export { initialRunCount, policyLabel, parsePolicyLabel, type RandomSource } from './verification-policy.js';
export { seededRandom, cryptoRandom } from './seeded-random.js';
export { checkVerdictAgainstResults, VerdictRejectedError, type WitnessedRun } from './check-verdict.js';
export { VerdictWitness, type VerdictWitnessOptions } from './verdict-witness.js';
