import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HandshakeAdmission } from './handshake-admission.js';

describe('handshake admission', () => {
  it("refuses a remote beyond its share and everyone beyond the total, and frees a place once, however often it is released", () => {
    const admission = new HandshakeAdmission({ maxPending: 3, maxPendingPerRemote: 2 });
    const first = admission.admit('10.0.0.1');
    assert.equal(first.admitted, true);
    assert.equal(admission.admit('10.0.0.1').admitted, true);
    assert.deepEqual(admission.admit('10.0.0.1'), { admitted: false, reason: '2 handshakes pending from 10.0.0.1, its limit' });
    assert.equal(admission.admit('10.0.0.2').admitted, true);
    assert.deepEqual(admission.admit('10.0.0.3'), { admitted: false, reason: '3 handshakes pending, the limit' });
    if (first.admitted) {
      first.release();
      first.release();
    }
    assert.equal(admission.pending, 2);
    assert.equal(admission.admit('10.0.0.1').admitted, true);
    assert.equal(admission.admit('10.0.0.3').admitted, false, 'the total is full again');
  });
});
