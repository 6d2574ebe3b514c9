import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GgmlType } from './gguf-constants.js';
import { encodeValues, float32ToFloat16Bits } from './tensor-encoding.js';

describe('float32ToFloat16Bits', () => {
  const cases: [number, number][] = [
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.1, 0x2e66],
    [65504, 0x7bff], // largest finite half
    [65520, 0x7c00], // rounds up to infinity
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -26, 0x0000], // below half of it: flushes to zero
    [1 + 2 ** -11, 0x3c00], // a tie rounds to the even mantissa
    [1 + 3 * 2 ** -11, 0x3c02],
    [Infinity, 0x7c00],
    [NaN, 0x7e00],
  ];
  for (const [value, bits] of cases) {
    it(`encodes ${value} as 0x${bits.toString(16).padStart(4, '0')}`, () => assert.equal(float32ToFloat16Bits(value), bits));
  }
});

describe('encodeValues as Q8_0', () => {
  it('stores one f16 scale max|x|/127 and 32 rounded int8 per block of 32', () => {
    const values = Float32Array.from({ length: 32 }, (_, i) => (i - 16) / 16); // -1 .. 0.9375
    const block = encodeValues(GgmlType.Q8_0, values);
    assert.equal(block.length, 34);
    assert.equal(block.readUInt16LE(0), float32ToFloat16Bits(1 / 127));
    assert.equal(block.readInt8(2), -127);
    assert.equal(block.readInt8(2 + 16), 0);
    assert.equal(block.readInt8(2 + 24), 64); // 0.5 * 127 = 63.5 rounds away from zero
  });

  it('encodes an all-zero block with a zero scale', () => {
    assert.deepEqual([...encodeValues(GgmlType.Q8_0, new Float32Array(32))], new Array(34).fill(0));
  });
});
