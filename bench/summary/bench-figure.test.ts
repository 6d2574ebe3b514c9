import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeTarget, targetStatus } from './bench-figure.js';

describe('targetStatus', () => {
  const figure = (value: number, target?: { atLeast?: number; atMost?: number }) => ({ bench: 'b', name: 'n', value, unit: 'ratio' as const, ...(target ? { target } : {}) });
  it('meets a lower bound at or above it', () => assert.equal(targetStatus(figure(0.95, { atLeast: 0.95 })), 'met'));
  it('misses a lower bound below it', () => assert.equal(targetStatus(figure(0.72, { atLeast: 0.95 })), 'not met'));
  it('misses an upper bound above it', () => assert.equal(targetStatus(figure(51, { atMost: 50 })), 'not met'));
  it('has no status without a target', () => assert.equal(targetStatus(figure(3)), ''));
  it('describes both bounds', () => assert.equal(describeTarget({ atLeast: 1, atMost: 2 }), '>= 1 and <= 2'));
});
