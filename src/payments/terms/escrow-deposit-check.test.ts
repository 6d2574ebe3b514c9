import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { EscrowRecord } from '../evm/escrow-client.js';
import { depositShortfall, type DepositDemand } from './escrow-deposit-check.js';

const payout = `0x${'5e'.repeat(20)}` as const;
const demand: DepositDemand = { payout, amount: 12_000n, jobDeadlineS: 1_000 };
const paid: EscrowRecord = { client: `0x${'c1'.repeat(20)}`, provider: payout, aggregator: `0x${'a9'.repeat(20)}`, amount: 12_000n, fee: 600n, deadline: 1_600n, status: 'deposited' };

describe('depositShortfall: what a provider requires of a deposit before it runs a job', () => {
  const cases: Array<{ name: string; record: EscrowRecord; expect: RegExp | undefined }> = [
    { name: 'a deposit to its payout of the full price, refundable only after the job, pays', record: paid, expect: undefined },
    { name: 'the payout address matches whatever its letter case', record: { ...paid, provider: payout.toUpperCase().replace('0X', '0x') as `0x${string}` }, expect: undefined },
    { name: 'more than the price pays', record: { ...paid, amount: 20_000n }, expect: undefined },
    { name: 'no deposit does not', record: { ...paid, status: 'none' }, expect: /no deposit/ },
    { name: 'a deposit already released does not', record: { ...paid, status: 'released' }, expect: /a released deposit/ },
    { name: 'a deposit already refunded does not', record: { ...paid, status: 'refunded' }, expect: /a refunded deposit/ },
    { name: 'a deposit to another address does not', record: { ...paid, provider: `0x${'66'.repeat(20)}` }, expect: /not this provider's payout/ },
    { name: 'one unit below the price does not', record: { ...paid, amount: 11_999n }, expect: /price is 12000/ },
    { name: 'a deposit the client can take back before the job ends does not', record: { ...paid, deadline: 999n }, expect: /before the job's deadline/ },
  ];
  for (const { name, record, expect } of cases) {
    it(name, () => {
      const problem = depositShortfall(record, demand);
      if (expect) assert.match(problem ?? '', expect);
      else assert.equal(problem, undefined);
    });
  }
});
