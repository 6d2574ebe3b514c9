import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decodeBolt11 } from './bolt11.js';

// BOLT11's own example ("Please make a donation of any amount using payment_hash 0001020304050607080900010203040506070809000102030405060708090102 to me @03e7156ae33b0a208d0744199163177e909e80176e55d97a2f221ede0f934dd9ad").
const DONATION = 'lnbc1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdpl2pkx2ctnv5sxxmmwwd5kgetjypeh2ursdae8g6twvus8g6rfwvs8qun0dfjkxaq8rkx3yf5tcsyz3d73gafnh3cax9rn449d9p5uxz9ezhhypd0elx87sjle52x86fux2ypatgddc6k63n7erqz25le42c4u4ecky03ylcqca784w';
const PAYEE = '03e7156ae33b0a208d0744199163177e909e80176e55d97a2f221ede0f934dd9ad';

describe('decodeBolt11', () => {
  it("recovers the payee's node key from the signature", () => {
    const invoice = decodeBolt11(DONATION);
    assert.equal(invoice.paymentHash, '0001020304050607080900010203040506070809000102030405060708090102');
    assert.equal(invoice.amountMsat, undefined);
    assert.equal(invoice.payee, PAYEE);
  });
});
