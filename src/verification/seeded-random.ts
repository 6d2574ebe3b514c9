// Where a sampling decision draws its randomness: crypto in a node, a fixed seed (src/random) in tests and
// benchmarks.
import { randomBytes } from 'node:crypto';
import type { RandomSource } from './verification-policy.js';

export { seededRandom } from '../random/index.js';

/**
 * Unpredictable to providers: whether a job is checked must not be guessable from anything they see. 48 random bits
 * in [0, 1). (crypto.randomInt cannot span 2^48 values: its range must stay under 2^48.)
 */
export const cryptoRandom: RandomSource = () => randomBytes(6).readUIntBE(0, 6) / 2 ** 48;
