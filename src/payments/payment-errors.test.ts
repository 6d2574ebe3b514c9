import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatMicro, parseMicro } from './payment-errors.js';

describe('stablecoin amounts (6 decimals)', () => {
  it('formats micro-units exactly', () => {
    assert.equal(formatMicro(0n), '0.000000');
    assert.equal(formatMicro(1n), '0.000001');
    assert.equal(formatMicro(2_500_000n), '2.500000');
    assert.equal(formatMicro(-1_000_001n), '-1.000001');
    assert.equal(formatMicro(123_456_789_012_345_678n), '123456789012.345678');
  });

  it('parses decimal amounts exactly and refuses what a token cannot hold', () => {
    assert.equal(parseMicro('2.5'), 2_500_000n);
    assert.equal(parseMicro('0.000001'), 1n);
    assert.equal(parseMicro('7'), 7_000_000n);
    assert.throws(() => parseMicro('0.0000001'), /more than 6 decimals/);
    assert.throws(() => parseMicro('-1'), /not an amount/);
    assert.throws(() => parseMicro('1e6'), /not an amount/);
  });
});
