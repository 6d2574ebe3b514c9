// Encodes float weights as the ggml types the writer emits. Q8_0 follows ggml's reference
// quantize_row_q8_0: per 32 values one f16 scale d = max|x| / 127 and 32 int8 round(x / d).
import { GgmlType } from './gguf-constants.js';

export const Q8_0_BLOCK_VALUES = 32;
const Q8_0_BLOCK_BYTES = 2 + Q8_0_BLOCK_VALUES;

const scratch = new DataView(new ArrayBuffer(4));

/** IEEE half-precision bits of a float, rounded to nearest even as the hardware does. */
export function float32ToFloat16Bits(value: number): number {
  scratch.setFloat32(0, value);
  const bits = scratch.getUint32(0);
  const sign = (bits >>> 16) & 0x8000;
  const exponent = (bits >>> 23) & 0xff;
  const mantissa = bits & 0x7fffff;
  if (exponent === 0xff) return sign | 0x7c00 | (mantissa === 0 ? 0 : 0x200);
  const halfExponent = exponent - 127 + 15;
  if (halfExponent >= 0x1f) return sign | 0x7c00;
  if (halfExponent <= 0) return sign | subnormalHalf(mantissa | 0x800000, 14 - halfExponent);
  return sign + roundShift((halfExponent << 23) | mantissa, 13);
}

function subnormalHalf(mantissa: number, shift: number): number {
  return shift > 24 ? 0 : roundShift(mantissa, shift);
}

// A carry out of the mantissa correctly bumps the exponent (and overflows to infinity).
function roundShift(value: number, shift: number): number {
  const kept = value >>> shift;
  const rest = value & ((1 << shift) - 1);
  const half = 1 << (shift - 1);
  return rest > half || (rest === half && (kept & 1) === 1) ? kept + 1 : kept;
}

/** Bytes that `count` values take in `ggmlType`. */
export function encodedBytes(ggmlType: number, count: number): number {
  if (ggmlType === GgmlType.F32) return count * 4;
  if (ggmlType === GgmlType.F16) return count * 2;
  return (count / Q8_0_BLOCK_VALUES) * Q8_0_BLOCK_BYTES;
}

/** Encodes values (a multiple of 32 of them for Q8_0) into a fresh buffer. */
export function encodeValues(ggmlType: number, values: Float32Array): Buffer {
  const out = Buffer.alloc(encodedBytes(ggmlType, values.length));
  if (ggmlType === GgmlType.F32) values.forEach((v, i) => out.writeFloatLE(v, i * 4));
  else if (ggmlType === GgmlType.F16) values.forEach((v, i) => out.writeUInt16LE(float32ToFloat16Bits(v), i * 2));
  else for (let b = 0; b < values.length / Q8_0_BLOCK_VALUES; b++) quantizeBlockQ8_0(values, b, out);
  return out;
}

function quantizeBlockQ8_0(values: Float32Array, block: number, out: Buffer): void {
  const first = block * Q8_0_BLOCK_VALUES;
  let amax = 0;
  for (let i = 0; i < Q8_0_BLOCK_VALUES; i++) amax = Math.max(amax, Math.abs(values[first + i] ?? 0));
  // Math.fround at each step reproduces ggml's float arithmetic, so ties round as llama.cpp's quantizer does.
  const d = Math.fround(amax / 127);
  const inverse = d === 0 ? 0 : Math.fround(1 / d);
  const at = block * Q8_0_BLOCK_BYTES;
  out.writeUInt16LE(float32ToFloat16Bits(d), at);
  for (let i = 0; i < Q8_0_BLOCK_VALUES; i++) {
    out.writeInt8(roundHalfAway(Math.fround((values[first + i] ?? 0) * inverse)), at + 2 + i);
  }
}

// C's roundf, which ggml uses; Math.round would round -0.5 towards zero.
function roundHalfAway(x: number): number {
  return Math.sign(x) * Math.round(Math.abs(x));
}
