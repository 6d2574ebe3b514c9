import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUDGET_WINDOW_MS, decideBudget, spentInWindow, type SpendingEntry } from './nwc-budget.js';

const NOW = 1_800_000_000_000;
const KEY = 'a'.repeat(64);
const OTHER = 'b'.repeat(64);
const budget = { maxPaymentSat: 1_000, maxDailySat: 2_500 };
const entry = (sat: number, agoMs: number, state: SpendingEntry['state'] = 'paid', pubkey = KEY): SpendingEntry => ({ requestId: `${sat}-${agoMs}`, pubkey, sat, at: NOW - agoMs, state });

describe('NWC connection budgets', () => {
  const cases: Array<{ name: string; entries: SpendingEntry[]; amount: number; fee: number; ok: boolean; match?: RegExp }> = [
    { name: 'allows a payment within both limits', entries: [], amount: 1_000, fee: 10, ok: true },
    { name: 'refuses a payment over the per-payment limit', entries: [], amount: 1_001, fee: 0, ok: false, match: /limit of 1000 sat per payment/ },
    { name: 'refuses a payment that would pass the daily limit, fees included', entries: [entry(1_500, 1_000)], amount: 1_000, fee: 1, ok: false, match: /1500 sat spent/ },
    { name: 'allows exactly the daily limit', entries: [entry(1_490, 1_000)], amount: 1_000, fee: 10, ok: true },
    { name: 'counts a payment still in flight', entries: [entry(2_000, 1_000, 'reserved')], amount: 600, fee: 0, ok: false },
    { name: 'does not count a failed payment', entries: [entry(2_000, 1_000, 'failed')], amount: 1_000, fee: 10, ok: true },
    { name: 'forgets what was spent more than 24 hours ago', entries: [entry(2_000, BUDGET_WINDOW_MS + 1)], amount: 1_000, fee: 10, ok: true },
    { name: "does not count another connection's spending", entries: [entry(2_400, 1_000, 'paid', OTHER)], amount: 1_000, fee: 10, ok: true },
    { name: 'refuses an invoice without an amount', entries: [], amount: 0, fee: 0, ok: false, match: /positive amount/ },
  ];
  for (const { name, entries, amount, fee, ok, match } of cases) {
    it(name, () => {
      const decision = decideBudget(budget, entries, KEY, amount, fee, NOW);
      assert.equal(decision.ok, ok);
      if (!decision.ok && match) assert.match(decision.message, match);
      if (!decision.ok && amount > 0) assert.equal(decision.code, 'QUOTA_EXCEEDED');
    });
  }

  it('sums only the connection, the window and the states that hold money', () => {
    assert.equal(spentInWindow([entry(5, 1), entry(7, 2, 'reserved'), entry(11, 3, 'failed'), entry(13, BUDGET_WINDOW_MS), entry(17, 1, 'paid', OTHER)], KEY, NOW), 12);
  });
});
