import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MIN_STAGE_BYTE_MARGIN, MIN_STAGE_TIME_MARGIN_MS, stageRenewalReason, type JobHistory, type WarmStageBudget } from './warm-stage-renewal.js';

const MINUTE = 60_000;
const GIB = 2 ** 30;
const stage = (budget: Partial<WarmStageBudget>): WarmStageBudget => ({ stage: 's1@ws://a', ageMs: 0, bytesMoved: 0, maxStageMs: 60 * MINUTE, maxStageBytes: 64 * GIB, ...budget });
const history = (longestJobMs: number, largestJobBytes: number): JobHistory => ({ longestJobMs, largestJobBytes });

describe('whether warm stages can take one more job before a provider limit ends them', () => {
  const cases: [string, WarmStageBudget[], JobHistory, RegExp | undefined][] = [
    ['a fresh stage', [stage({})], history(5_000, 2 ** 20), undefined],
    ['no limits announced (an older provider)', [stage({ maxStageMs: undefined, maxStageBytes: undefined, ageMs: 10 ** 9 })], history(5_000, 2 ** 20), undefined],
    ['less time left than the minimum margin', [stage({ ageMs: 60 * MINUTE - MIN_STAGE_TIME_MARGIN_MS + 1 })], history(1_000, 0), /ms of its 3600000 ms left/],
    ['less time left than twice the longest job', [stage({ ageMs: 50 * MINUTE })], history(6 * MINUTE, 0), /a job may need 720000/],
    ['enough time for twice the longest job', [stage({ ageMs: 40 * MINUTE })], history(6 * MINUTE, 0), undefined],
    ['bytes nearly spent by the weights', [stage({ bytesMoved: 64 * GIB - MIN_STAGE_BYTE_MARGIN + 1 })], history(1_000, 0), /bytes left/],
    ['less bytes left than twice the largest job', [stage({ bytesMoved: 63 * GIB })], history(1_000, 0.6 * GIB), /a job may need/],
    ['the second of two stages is the one near its end', [stage({}), stage({ stage: 's2@ws://b', ageMs: 60 * MINUTE - 10_000 })], history(1_000, 0), /^stage s2@ws:\/\/b/],
  ];
  for (const [name, stages, jobs, expected] of cases) {
    it(`${expected ? 'renews' : 'keeps'}: ${name}`, () => {
      const reason = stageRenewalReason(stages, jobs);
      if (expected) assert.match(reason ?? '', expected);
      else assert.equal(reason, undefined);
    });
  }
});
