// The witness keeps runs awaiting a verdict in the job store (state verifying), so that what it decides survives a
// restart: a new witness on the same store judges a late verdict against the persisted results, and closes each
// window at its persisted deadline. Real FileJobStore; the clock is handed in.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { FileJobStore } from '../jobs/file-job-store.js';
import type { JobRecord } from '../jobs/job-record.js';
import { silentLogger } from '../log/index.js';
import type { FrameOf, TokenFingerprint, VerificationPolicy } from '../protocol/index.js';
import { fingerprintHash } from './token-fingerprint.js';
import type { WitnessedRun } from './check-verdict.js';
import { DEFAULT_VERDICT_WAIT_MS, jobStateAfterVerdict, pendingVerificationOf, verdictPatchOf, verdictWaitLeft, verifyingPatchOf } from './pending-verification.js';
import { VerdictRejectedError, VerdictWitness } from './verdict-witness.js';
import type { VerificationOutcome, VerificationVerdict } from './verification-outcome.js';

const client = 'c'.repeat(64);
const redundant: VerificationPolicy = { kind: 'redundant', k: 2 };
const printsOf = { bad: [{ token: 3, logprob: -0.2, top: [] }], good: [{ token: 5, logprob: -0.1, top: [] }] } satisfies Record<string, TokenFingerprint[]>;
const runOf = (jobId: string, provider: string, outputHash: 'bad' | 'good', checkOf?: string): WitnessedRun => ({
  jobId, provider, client, model: 'stories260K', outputHash, fingerprintHash: fingerprintHash(printsOf[outputHash]), resultEventId: 'e'.repeat(64), tokens: 24,
  price: { amount: '125', currency: 'USDC', per: '1k_tokens' }, ...(checkOf ? { checkOf } : {}),
});
const liarRun = runOf('run-liar', 'a'.repeat(64), 'bad');
// Checks the aggregator drew for the liar's job.
const checkRuns = [runOf('run-check-1', 'b'.repeat(64), 'good', 'run-liar'), runOf('run-check-2', 'd'.repeat(64), 'good', 'run-liar')];
const outvoting: FrameOf<'job.verdict'> = {
  v: 1,
  type: 'job.verdict',
  jobId: liarRun.jobId,
  policy: redundant,
  runs: [
    { jobId: liarRun.jobId, provider: liarRun.provider, verdict: 'failed', fingerprints: printsOf.bad },
    ...checkRuns.map((run) => ({ jobId: run.jobId, provider: run.provider, verdict: 'verified' as const, fingerprints: printsOf.good })),
  ],
};

describe('pending verification (pure rules)', () => {
  const t0 = 1_700_000_000_000;
  it('persists what a verdict is judged against, with a deadline one window from now', () => {
    const patch = verifyingPatchOf(liarRun, redundant, t0, DEFAULT_VERDICT_WAIT_MS);
    assert.deepEqual(patch.verification, { policy: redundant, resultEventId: liarRun.resultEventId, price: liarRun.price, verdictDeadline: t0 + DEFAULT_VERDICT_WAIT_MS, fingerprintHash: liarRun.fingerprintHash });
    assert.equal(verifyingPatchOf(checkRuns[0]!, redundant, t0, 1).verification.checkOf, liarRun.jobId, 'a check keeps the job it checks');
    assert.deepEqual([patch.provider, patch.client, patch.outputHash, patch.tokens], [liarRun.provider, client, 'bad', 24]);
  });
  it('reads the run back from a verifying record, and nothing from a record that cannot be judged', () => {
    const record: JobRecord = { jobId: liarRun.jobId, role: 'aggregator', state: 'verifying', model: 'stories260K', ...verifyingPatchOf(liarRun, redundant, t0, 1000), createdAt: t0, updatedAt: t0 };
    assert.deepEqual(pendingVerificationOf(record)?.run, liarRun);
    assert.equal(pendingVerificationOf({ ...record, state: 'completed' }), undefined);
    assert.equal(pendingVerificationOf({ ...record, verification: undefined }), undefined);
    assert.equal(pendingVerificationOf({ ...record, outputHash: undefined }), undefined);
  });
  const windows: Array<[string, number, number]> = [
    ['leaves the whole window to a run just witnessed', t0, 1000],
    ['leaves what remains of it after a restart', t0 + 400, 600],
    ['is closed at the deadline', t0 + 1000, 0],
    ['is closed long after it', t0 + 5000, 0],
  ];
  for (const [rule, now, left] of windows) it(`the verdict window ${rule}`, () => assert.equal(verdictWaitLeft({ verdictDeadline: t0 + 1000 }, now), left));
  const moves: Array<[VerificationVerdict, 'completed' | 'failed']> = [
    ['verified', 'completed'],
    ['unchecked', 'completed'],
    ['inconclusive', 'completed'],
    ['failed', 'failed'],
  ];
  for (const [verdict, to] of moves) it(`moves a ${verdict} run from verifying to ${to}`, () => assert.equal(jobStateAfterVerdict(verdict), to));
  it('records the verdict, and a failure a user can read for a run found wrong', () => {
    const { verification } = verifyingPatchOf(liarRun, redundant, t0, 1000);
    assert.deepEqual(verdictPatchOf(verification, 'verified', 'job-1'), { verification: { ...verification, verdict: 'verified', verdictJobId: 'job-1' } });
    assert.equal(verdictPatchOf(verification, 'failed', 'job-1').error?.code, 'verification_failed');
  });
});

describe('VerdictWitness persists the runs awaiting a verdict', () => {
  async function setUp() {
    const store = new FileJobStore(join(await mkdtemp(join(tmpdir(), 'witness-')), 'jobs.jsonl'));
    let clock = 1_700_000_000_000;
    const outcomes: VerificationOutcome[] = [];
    const open = () => {
      const witness = new VerdictWitness({ store, logger: silentLogger(), verdictWaitMs: 60_000, now: () => clock });
      witness.onVerification((outcome) => outcomes.push(outcome));
      return witness;
    };
    /** What the aggregator does with a run's result: the witness's patch persisted with running -> verifying. */
    const relay = async (witness: VerdictWitness, run: WitnessedRun, policy: VerificationPolicy = redundant) => {
      await store.create({ jobId: run.jobId, role: 'aggregator', model: run.model, state: 'running' });
      const patch = witness.witness(run, policy);
      if (patch) await store.transition(run.jobId, 'aggregator', 'verifying', patch);
      return patch;
    };
    const stateOf = async (jobId: string) => (await store.get(jobId, 'aggregator'))?.state;
    return { store, open, relay, stateOf, outcomes, advance: (ms: number) => (clock += ms) };
  }

  it('settles a run under policy none at once, persisting nothing for it', async () => {
    const t = await setUp();
    const witness = t.open();
    assert.equal(await t.relay(witness, liarRun, { kind: 'none' }), undefined);
    assert.deepEqual(t.outcomes.map((outcome) => outcome.verdict), ['unchecked']);
    await witness.stop();
  });

  it('moves each run out of verifying by its verdict before the outcome is told', async () => {
    const t = await setUp();
    const witness = t.open();
    for (const run of [liarRun, ...checkRuns]) await t.relay(witness, run);
    const statesWhenTold: Array<string | undefined> = [];
    witness.onVerification((outcome) => void t.stateOf(outcome.runJobId).then((state) => statesWhenTold.push(state)));
    const outcomes = await witness.verdict(client, outvoting);
    assert.deepEqual(outcomes.map((outcome) => [outcome.runJobId, outcome.verdict]), [[liarRun.jobId, 'failed'], [checkRuns[0]!.jobId, 'verified'], [checkRuns[1]!.jobId, 'verified']]);
    assert.deepEqual(await Promise.all([liarRun, ...checkRuns].map((run) => t.stateOf(run.jobId))), ['failed', 'completed', 'completed']);
    assert.equal((await t.store.get(liarRun.jobId, 'aggregator'))?.verification?.verdict, 'failed');
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(statesWhenTold.every((state) => state === 'failed' || state === 'completed'), `persisted first: ${statesWhenTold.join(',')}`);
    await assert.rejects(witness.verdict(client, outvoting), VerdictRejectedError, 'a second verdict finds the runs decided');
    await witness.stop();
  });

  it('after a restart, judges a late verdict against the persisted results and fails the run it finds wrong', async () => {
    const t = await setUp();
    const before = t.open();
    for (const run of [liarRun, ...checkRuns]) await t.relay(before, run);
    await before.stop(); // the aggregator goes away; its store keeps the runs in verifying
    const after = t.open();
    assert.equal(await after.resumeVerifying(), 3);
    const lie = { ...outvoting, runs: outvoting.runs.map((run, i) => ({ ...run, verdict: i === 1 ? ('failed' as const) : ('verified' as const) })) };
    await assert.rejects(after.verdict(client, lie), /equals a verified one|majority/, 'a verdict blaming a run whose persisted output agrees is refused');
    await assert.rejects(after.verdict('f'.repeat(64), outvoting), /not relayed here/, 'another client cannot judge these runs');
    await after.verdict(client, outvoting);
    assert.deepEqual(await Promise.all([liarRun, ...checkRuns].map((run) => t.stateOf(run.jobId))), ['failed', 'completed', 'completed']);
    assert.deepEqual(t.outcomes.find((outcome) => outcome.runJobId === liarRun.jobId && outcome.verdict === 'failed')?.price, liarRun.price);
    await after.stop();
  });

  it('after a restart, settles unchecked at once a run whose window closed while the aggregator was down', async () => {
    const t = await setUp();
    const before = t.open();
    await t.relay(before, liarRun);
    await before.stop();
    t.advance(60_000);
    await t.open().resumeVerifying();
    assert.equal(await t.stateOf(liarRun.jobId), 'completed');
    assert.deepEqual(t.outcomes.map((outcome) => [outcome.runJobId, outcome.verdict]), [[liarRun.jobId, 'unchecked']]);
  });

  it('after a restart, continues a window from its persisted deadline, not from the restart', async () => {
    const t = await setUp();
    const before = t.open();
    await t.relay(before, liarRun);
    await before.stop();
    t.advance(60_000 - 100); // 100 ms of the window left when the aggregator comes back
    const after = t.open();
    await after.resumeVerifying();
    assert.equal(await t.stateOf(liarRun.jobId), 'verifying');
    for (let waited = 0; waited < 5_000 && (await t.stateOf(liarRun.jobId)) === 'verifying'; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(await t.stateOf(liarRun.jobId), 'completed', 'closed about 100 ms after the restart');
    assert.deepEqual(t.outcomes.map((outcome) => outcome.verdict), ['unchecked']);
    await after.stop();
  });
});
