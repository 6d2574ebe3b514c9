// Where a sampling decision draws its randomness: crypto in a node, a fixed seed in tests and benchmarks.
import { randomInt } from 'node:crypto';
import type { RandomSource } from './verification-policy.js';

/** mulberry32: small, fast and good enough for fixed-seed tests; never for anything an adversary may predict. */
export function seededRandom(seed: number): RandomSource {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Unpredictable to providers: whether a job is checked must not be guessable from anything they see. */
export const cryptoRandom: RandomSource = () => randomInt(0, 2 ** 48) / 2 ** 48;
