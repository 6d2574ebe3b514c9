import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { ARTIFACTS_SOURCE, compileContracts, renderArtifacts, solcVersion } from './compile-contracts.js';

describe('committed contract artifacts', () => {
  it('match what solc-js compiles from contracts/*.sol now (else run compile-contracts.js --write)', async () => {
    const fresh = renderArtifacts(await compileContracts(), await solcVersion());
    const committed = await readFile(ARTIFACTS_SOURCE, 'utf8');
    assert.equal(committed, fresh);
  });
});
