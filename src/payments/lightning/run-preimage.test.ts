import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateNodeKey } from '../../identity/index.js';
import { HoldSecretInvalidError, newHoldSecret, openHoldSecret, paymentHashOf, preimageMatches, runPaymentHashOf, runPreimageOf, sealHoldSecret } from './run-preimage.js';

describe('run preimages made by the paying side', () => {
  it('derives one preimage per payment of a job, each hashing to its own payment hash', () => {
    const secret = newHoldSecret();
    const first = runPreimageOf(secret, 'job-1');
    const attempt2 = runPreimageOf(secret, 'job-1~2');
    assert.notEqual(first, attempt2, 'a failover attempt has its own preimage: its provider cannot learn another one');
    assert.equal(runPaymentHashOf(secret, 'job-1'), paymentHashOf(first));
    assert.ok(preimageMatches(first, paymentHashOf(first)));
    assert.ok(!preimageMatches(attempt2, paymentHashOf(first)));
    assert.ok(!preimageMatches('zz', paymentHashOf(first)));
    assert.notEqual(runPreimageOf(newHoldSecret(), 'job-1'), first, 'another request, another secret');
  });

  it('opens the sealed secret with the aggregator key only', () => {
    const [client, aggregator, other] = [generateNodeKey(), generateNodeKey(), generateNodeKey()];
    const secret = newHoldSecret();
    const sealed = sealHoldSecret(secret, client.secretKey, aggregator.publicKey);
    assert.equal(openHoldSecret(sealed, aggregator.secretKey, client.publicKey), secret);
    assert.throws(() => openHoldSecret(sealed, other.secretKey, client.publicKey), HoldSecretInvalidError);
    assert.throws(() => openHoldSecret(sealHoldSecret('not hex', client.secretKey, aggregator.publicKey), aggregator.secretKey, client.publicKey), /not 32 bytes/);
  });
});
