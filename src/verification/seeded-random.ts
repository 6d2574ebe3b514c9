// Where a sampling decision draws its randomness: crypto in a node, a fixed seed (src/random) in tests and
// benchmarks.
import { randomInt } from 'node:crypto';
import type { RandomSource } from './verification-policy.js';

export { seededRandom } from '../random/index.js';

/** Unpredictable to providers: whether a job is checked must not be guessable from anything they see. */
export const cryptoRandom: RandomSource = () => randomInt(0, 2 ** 48) / 2 ** 48;
