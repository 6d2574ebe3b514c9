// The payment ledger in a real PocketBase (migration 1751000004's unique index and decision fields).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { usePocketBaseFixture } from '../../storage/test-fixture.js';
import { PaymentLedger, type NewPayment } from './payment-ledger.js';

const pocketbase = usePocketBaseFixture();
const payment = (jobId: string): NewPayment => ({ jobId, role: 'aggregator', direction: 'incoming', rail: 'evm', amount: 1_050_000n, unit: 'micro-usdc', state: 'held', counterparty: 'ab'.repeat(32) });

describe('PaymentLedger', () => {
  it('records one payment per job, role and rail: a second record returns the first', async () => {
    const ledger = new PaymentLedger((await pocketbase()).server.client);
    const jobId = randomUUID();
    const first = await ledger.record(payment(jobId));
    const second = await ledger.record({ ...payment(jobId), amount: 5n });
    assert.equal(second.id, first.id);
    assert.equal(second.amount, 1_050_000n);
    const otherRail = await ledger.record({ ...payment(jobId), rail: 'lightning', unit: 'sat', amount: 2_100n });
    assert.notEqual(otherRail.id, first.id);
    assert.equal((await ledger.list({ jobId })).length, 2);
  });

  it('keeps the first decision, and lists decided but unsettled payments as undone', async () => {
    const ledger = new PaymentLedger((await pocketbase()).server.client);
    const jobId = randomUUID();
    const recorded = await ledger.record(payment(jobId));
    const decided = await ledger.decide(recorded, 'release');
    assert.equal(decided.decision, 'release');
    assert.equal((await ledger.decide(decided, 'refund')).decision, 'release');
    assert.ok((await ledger.undone()).some((undone) => undone.jobId === jobId));
    const done = await ledger.updateState(decided, 'released', { reference: `0x${'12'.repeat(32)}`, details: { gasUsed: '58003' } });
    assert.equal(done.state, 'released');
    assert.equal(done.details.gasUsed, '58003');
    assert.equal(done.details.provider, undefined);
    assert.ok(!(await ledger.undone()).some((undone) => undone.jobId === jobId));
    assert.deepEqual((await ledger.list({ jobId, states: ['released'] })).map((row) => row.id), [done.id]);
  });

  it('survives a PocketBase crash: an acknowledged decision is there after restart', async () => {
    const fixture = await pocketbase();
    const jobId = randomUUID();
    const ledger = new PaymentLedger(fixture.server.client);
    await ledger.decide(await ledger.record(payment(jobId)), 'refund');
    await fixture.crash();
    const restarted = await fixture.restart();
    const found = await new PaymentLedger(restarted.client).find(jobId, 'aggregator', 'evm');
    assert.equal(found?.decision, 'refund');
    assert.equal(found?.state, 'held');
  });

  it('refuses an amount the ledger cannot hold exactly', async () => {
    const ledger = new PaymentLedger((await pocketbase()).server.client);
    await assert.rejects(ledger.record({ ...payment(randomUUID()), amount: 2n ** 60n }), RangeError);
  });
});
