// The local EVM chain for tests and the bench (`hardhat node`): defaults only, chain id 31337. Contracts are
// compiled with solc-js by src/payments/evm/compile-contracts.ts, not by hardhat.
module.exports = {};
