// Deterministic randomness for fixed-seed tests, benchmarks and generated test models.
export { deriveSeed, seededRandom, type RandomSource } from './seeded-random.js';
