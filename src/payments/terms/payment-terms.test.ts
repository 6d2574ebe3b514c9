import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateNodeKey } from '../../identity/index.js';
import type { Price } from '../../protocol/index.js';
import type { EscrowRecord } from '../evm/escrow-client.js';
import { decodeBolt11, InvalidInvoiceError } from '../lightning/bolt11.js';
import { feeFor, jobAmount, railOfPrice, UnpayablePriceError } from './job-amount.js';
import { checkEvmTerms, checkLightningTerms, chooseRail, DEFAULT_MAX_JOB_PAYMENT, depositMismatch, evmTermsFor, PaymentTermsRefusedError, SETTLEMENT_WINDOW_S, type ClientPaymentPolicy, type EvmTerms } from './payment-terms.js';
import { signPayoutStatement } from './payout-statement.js';

const usdc = (amount: string, per: Price['per'] = '1k_tokens'): Price => ({ amount, currency: 'USDC', per });
const sat = (amount: string, per: Price['per'] = '1k_tokens'): Price => ({ amount, currency: 'sat', per });
const ESCROW = `0x${'e5'.repeat(20)}`;
const TOKEN = `0x${'70'.repeat(20)}`;
const PROVIDER = `0x${'5e'.repeat(20)}` as const;
const AGGREGATOR = `0x${'a9'.repeat(20)}` as const;
// BOLT #11's own example ("send $3 for a cup of coffee to the same peer, within one minute").
const COFFEE = 'lnbc2500u1pvjluezpp5qqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqqqsyqcyq5rqwzqfqypqdq5xysxxatsyp3k7enxv4jsxqzpuaztrnwngzn3kdzw5hydlzf03qdgm2hdq27cqv3agm2awhz5se903vruatfhq77w3ls4evs3ch9zw97j25emudupq63nyw24cg27h2rspfj9srp';
const COFFEE_HASH = '0001020304050607080900010203040506070809000102030405060708090102';
/** The node that signed BOLT #11's examples. */
const COFFEE_PAYEE = '03e7156ae33b0a208d0744199163177e909e80176e55d97a2f221ede0f934dd9ad';
const providerKey = generateNodeKey();

describe('job amount from price and tokens', () => {
  const cases: Array<[Price, number, bigint]> = [
    [usdc('0.05'), 24, 1_200n], // 0.05 USDC per 1k tokens × 24 tokens = 0.0012 USDC
    [usdc('2'), 1000, 2_000_000n],
    [usdc('0.000001'), 1, 1n], // a thousandth of a micro-unit rounds up to one: never below the price
    [usdc('0.002'), 128, 256n],
    [usdc('1.5', 'job'), 4096, 1_500_000n],
    [sat('100'), 21, 3n], // 2.1 sat rounds up
    [sat('2100', 'job'), 1, 2_100n],
    [sat('0'), 128, 0n],
  ];
  for (const [price, tokens, expected] of cases) {
    it(`${price.amount} ${price.currency} per ${price.per} for ${tokens} tokens costs ${expected}`, () => assert.equal(jobAmount(price, tokens), expected));
  }

  it('refuses a price in a currency no rail carries', () => {
    assert.equal(railOfPrice({ amount: '1', currency: 'EUR', per: 'job' }), undefined);
    assert.throws(() => jobAmount({ amount: '1', currency: 'EUR', per: 'job' }, 10), UnpayablePriceError);
  });

  it('takes the fee in basis points, rounded down', () => {
    assert.deepEqual([feeFor(1_200n, 500), feeFor(2_000_000n, 500), feeFor(19n, 500), feeFor(1_000n, 0)], [60n, 100_000n, 0n, 0n]);
  });
});

describe('which rail a match is paid on', () => {
  const payout = { evm: PROVIDER, lightning: true };
  const cases: Array<[string, Parameters<typeof chooseRail>[0], string]> = [
    ['a provider without a price works for free', { aggregatorRails: ['evm'], clientRails: [], payout }, 'free'],
    ['an aggregator without payments takes none', { aggregatorRails: [], clientRails: ['evm'], price: usdc('1'), payout }, 'free'],
    ['a USDC price on an escrow aggregator is paid on evm', { aggregatorRails: ['evm', 'lightning'], clientRails: ['lightning', 'evm'], price: usdc('1'), payout }, 'pay:evm'],
    ['a sat price is paid on lightning', { aggregatorRails: ['evm', 'lightning'], clientRails: ['evm', 'lightning'], price: sat('10'), payout }, 'pay:lightning'],
    ['a client that pays on no rail is refused', { aggregatorRails: ['evm'], clientRails: [], price: usdc('1'), payout }, 'refuse'],
    ['a client that pays only on lightning is refused a USDC price', { aggregatorRails: ['evm'], clientRails: ['lightning'], price: usdc('1'), payout }, 'refuse'],
    ['a provider with no payout address is refused', { aggregatorRails: ['evm'], clientRails: ['evm'], price: usdc('1'), payout: {} }, 'refuse'],
    ['a price in EUR leaves the job free', { aggregatorRails: ['evm'], clientRails: ['evm'], price: { amount: '1', currency: 'EUR', per: 'job' }, payout }, 'free'],
  ];
  for (const [name, input, expected] of cases) {
    it(name, () => {
      const choice = chooseRail(input);
      assert.equal(choice.kind === 'pay' ? `pay:${choice.rail}` : choice.kind, expected);
    });
  }
});

describe('a client checks escrow terms against its own config', () => {
  const deadlineMs = 1_800_000_000_000;
  const policy: ClientPaymentPolicy = { evm: { chainId: 31337, escrow: ESCROW, token: TOKEN }, lightning: false, maxFeeBps: 1000 };
  const signed = signPayoutStatement(providerKey, { price: usdc('0.05'), evm: PROVIDER });
  // The aggregator the client talks to signs its own escrow address with its node key.
  const aggregatorKey = generateNodeKey();
  const job = { jobId: 'job-00000001', maxTokens: 24, jobDeadlineMs: deadlineMs, price: usdc('0.05'), provider: providerKey.publicKey, payoutStatement: signed, aggregator: aggregatorKey.publicKey, aggregatorStatement: signPayoutStatement(aggregatorKey, { evm: AGGREGATOR }) };
  const fair = evmTermsFor({ price: usdc('0.05'), maxTokens: 24, feeBps: 500, chainId: 31337, escrow: ESCROW, token: TOKEN, provider: PROVIDER, aggregator: AGGREGATOR, jobDeadlineMs: deadlineMs });

  it('offers the amount of the price, a 5% fee and a deadline one settlement window after the job', () => {
    assert.deepEqual([fair.amount, fair.fee, fair.deadline], ['1200', '60', deadlineMs / 1000 + SETTLEMENT_WINDOW_S]);
    assert.doesNotThrow(() => checkEvmTerms(fair, policy, job));
    assert.doesNotThrow(() => checkEvmTerms({ ...fair, escrow: ESCROW.toUpperCase().replace('0X', '0x') }, policy, job), 'addresses compare without case');
  });

  const refusals: Array<[string, Partial<EvmTerms>, Partial<typeof job> & { priceCap?: Price }, RegExp]> = [
    ['another escrow (a malicious aggregator redirecting the deposit)', { escrow: `0x${'66'.repeat(20)}` }, {}, /escrow 0x6666.*not this node's payments.evm.escrow/],
    ['another token', { token: `0x${'77'.repeat(20)}` }, {}, /token/],
    ['another chain', { chainId: 137 }, {}, /chain 137/],
    ['more than the price gives for the tokens', { amount: '1201' }, {}, /ask 1201 but 24 tokens/],
    ['more than the price cap', {}, { priceCap: usdc('0.04') }, /above the price cap's 960/],
    ['a cap in another currency', {}, { priceCap: sat('10') }, /price cap/],
    ['a fee above payments.maxFeeBps', { fee: '121' }, {}, /fee 121 is above 1000 bps/],
    ['a deadline before the job', { deadline: deadlineMs / 1000 - 1 }, {}, /before the job's own/],
    ['a deadline that holds the deposit for days', { deadline: deadlineMs / 1000 + 3 * 86_400 }, {}, /more than 86400 s/],
    ['a zero amount', { amount: '0', fee: '0' }, {}, /no amount/],
    // Attack 6: a greedy aggregator names itself as the payee, or inflates the unsigned price it forwards.
    ['a payee other than the payout address the provider signed', { provider: AGGREGATOR }, {}, /pay 0xa9a9.*not the payout address 0x5e5e.* the provider signed/],
    ['an amount at an inflated unsigned match price', { amount: '24000', fee: '1200' }, { price: usdc('1') }, /ask 24000 but 24 tokens at the provider's signed 0.05 USDC/],
    ['a match without the provider\'s payout statement', {}, { payoutStatement: undefined }, /no payout statement signed by the provider/],
    ['a payout statement signed by another key (the aggregator\'s own)', { provider: AGGREGATOR }, { payoutStatement: signPayoutStatement(generateNodeKey(), { price: usdc('0.05'), evm: AGGREGATOR }) }, /not one it signed/],
    ['a payout statement edited after signing', { provider: AGGREGATOR }, { payoutStatement: { ...signed, content: signed.content.replace(PROVIDER.slice(2), AGGREGATOR.slice(2)) } }, /not one it signed/],
    ['a statement that signs no EVM payout', {}, { payoutStatement: signPayoutStatement(providerKey, { price: usdc('0.05') }) }, /signed no EVM payout address/],
    // Attack 6, the aggregator's side: the address that releases the deposit and takes the fee is the one the aggregator signed.
    ['an escrow aggregator other than the address the aggregator signed as its own', { aggregator: `0x${'66'.repeat(20)}` }, {}, /aggregator 0x6666.*not the address 0xa9a9.* the aggregator signed as its own/],
    ["a match without the aggregator's statement", {}, { aggregatorStatement: undefined }, /no statement signed by the aggregator/],
    ["an aggregator statement signed by another key than the aggregator's", {}, { aggregatorStatement: signPayoutStatement(generateNodeKey(), { evm: AGGREGATOR }) }, /aggregator's payout statement is not one it signed/],
    ['an aggregator statement that signs no address', {}, { aggregatorStatement: signPayoutStatement(aggregatorKey, {}) }, /signed no EVM address of its own/],
    [
      'more than the default cap per job when the user set none',
      { amount: '10000000', fee: '500000' },
      { maxTokens: 20_000, payoutStatement: signPayoutStatement(providerKey, { price: usdc('0.5'), evm: PROVIDER }) },
      new RegExp(`10500000 in all, above the default cap of ${DEFAULT_MAX_JOB_PAYMENT.evm}`),
    ],
  ];
  for (const [name, change, jobChange, reason] of refusals) {
    it(`refuses ${name}`, () => {
      assert.throws(() => checkEvmTerms({ ...fair, ...change }, policy, { ...job, ...jobChange }), (error: unknown) => error instanceof PaymentTermsRefusedError && reason.test(error.message));
    });
  }

  it('pays more than the default cap when the user set a cap that allows it', () => {
    const dear = { ...job, maxTokens: 20_000, priceCap: usdc('0.5'), payoutStatement: signPayoutStatement(providerKey, { price: usdc('0.5'), evm: PROVIDER }) };
    assert.doesNotThrow(() => checkEvmTerms({ ...fair, amount: '10000000', fee: '500000' }, policy, dear));
  });

  it('refuses another aggregator than the one it knows, when it knows its address', () => {
    const pinned: ClientPaymentPolicy = { ...policy, evm: { ...policy.evm!, aggregator: AGGREGATOR } };
    assert.doesNotThrow(() => checkEvmTerms(fair, pinned, job));
    assert.throws(() => checkEvmTerms({ ...fair, aggregator: `0x${'66'.repeat(20)}` }, pinned, job), /aggregator 0x6666.*not the aggregator this node talks to/);
  });

  it('refuses escrow terms when it has no escrow of its own', () => {
    assert.throws(() => checkEvmTerms(fair, { lightning: true, maxFeeBps: 1000 }, job), /no payments.evm escrow/);
  });
});

describe('an aggregator checks the deposit on chain against its terms', () => {
  const terms: EvmTerms = { rail: 'evm', chainId: 31337, escrow: ESCROW, token: TOKEN, provider: PROVIDER, aggregator: AGGREGATOR, amount: '1200', fee: '60', deadline: 1_800_000_600 };
  const deposit: EscrowRecord = { client: `0x${'c1'.repeat(20)}`, provider: PROVIDER, aggregator: AGGREGATOR, amount: 1200n, fee: 60n, deadline: 1_800_000_600n, status: 'deposited' };
  const cases: Array<[string, Partial<EscrowRecord>, RegExp | undefined]> = [
    ['matches the deposit made as offered', {}, undefined],
    ['finds no deposit', { status: 'none' }, /no deposit/],
    ['finds a deposit already refunded', { status: 'refunded' }, /refunded deposit/],
    ['finds a deposit paying someone else', { provider: `0x${'99'.repeat(20)}` }, /pays 0x9999/],
    ['finds a smaller amount', { amount: 1199n }, /holds 1199/],
    ['finds a smaller fee', { fee: 0n }, /fee of 0/],
    ['finds a shorter deadline', { deadline: 1_800_000_000n }, /deadline/],
    ['finds another aggregator', { aggregator: PROVIDER }, /aggregator/],
  ];
  for (const [name, change, problem] of cases) {
    it(name, () => {
      const found = depositMismatch({ ...deposit, ...change }, terms);
      if (problem) assert.match(found ?? '', problem);
      else assert.equal(found, undefined);
    });
  }
});

describe('BOLT11 amount and payment hash', () => {
  it("reads BOLT #11's example: 2500u is 250,000 sat, and its payment hash", () => {
    assert.deepEqual(decodeBolt11(COFFEE), { network: 'bc', amountMsat: 250_000_000n, paymentHash: COFFEE_HASH, payee: COFFEE_PAYEE });
  });

  it('refuses a tampered invoice (bad checksum) and a string that is no invoice', () => {
    assert.throws(() => decodeBolt11(COFFEE.replace('2500u', '2501u')), (error: unknown) => error instanceof InvalidInvoiceError && /checksum/.test(error.message));
    assert.throws(() => decodeBolt11('hello'), InvalidInvoiceError);
  });

  const terms = { rail: 'lightning' as const, paymentRequest: COFFEE, paymentHash: COFFEE_HASH, amountSat: '250000' };
  const policy: ClientPaymentPolicy = { lightning: true, maxFeeBps: 1000 };
  const statement = (price: Price, lightningNodeKey?: string) => signPayoutStatement(providerKey, { price, ...(lightningNodeKey ? { lightningNodeKey } : {}) });
  // BOLT #11's example invoice is on the hash of no preimage this client made; the check is given it as its own.
  const job = { jobId: 'job-00000002', maxTokens: 1000, jobDeadlineMs: 1_800_000_000_000, priceCap: sat('250000'), provider: providerKey.publicKey, payoutStatement: statement(sat('250000'), COFFEE_PAYEE), holdPaymentHash: COFFEE_HASH };
  it('a client pays an invoice whose amount and hash are the terms, at the price, to the node the provider signed', () => {
    assert.doesNotThrow(() => checkLightningTerms(terms, decodeBolt11(COFFEE), policy, job));
  });
  it("refuses an invoice paying another node than the provider's (an aggregator passing off its own invoice)", () => {
    const other = `02${'11'.repeat(32)}`;
    assert.throws(() => checkLightningTerms(terms, decodeBolt11(COFFEE), policy, { ...job, payoutStatement: statement(sat('250000'), other) }), new RegExp(`pays node ${COFFEE_PAYEE}, not the Lightning node ${other}`));
    assert.throws(() => checkLightningTerms(terms, decodeBolt11(COFFEE), policy, { ...job, payoutStatement: statement(sat('250000')) }), /signed no Lightning node key/);
  });
  it('refuses an invoice on a hash of the provider\'s making, or when this client made no preimage (attack 7)', () => {
    assert.throws(() => checkLightningTerms(terms, decodeBolt11(COFFEE), policy, { ...job, holdPaymentHash: 'ee'.repeat(32) }), /another payment hash than the preimage this node made/);
    assert.throws(() => checkLightningTerms(terms, decodeBolt11(COFFEE), policy, { ...job, holdPaymentHash: undefined }), /made no preimage for the invoice/);
  });
  it('refuses an invoice above the default cap when the user set none', () => {
    assert.throws(() => checkLightningTerms(terms, decodeBolt11(COFFEE), policy, { ...job, priceCap: undefined }), /above the default cap of 50000/);
  });
  it('refuses an invoice for another payment hash, another amount, above the price, or without a Lightning wallet', () => {
    const decoded = decodeBolt11(COFFEE);
    assert.throws(() => checkLightningTerms({ ...terms, paymentHash: 'ff'.repeat(32) }, decoded, policy, job), /another payment hash/);
    assert.throws(() => checkLightningTerms({ ...terms, amountSat: '1' }, decoded, policy, job), /asks 250000000 msat/);
    assert.throws(() => checkLightningTerms(terms, decoded, policy, { ...job, payoutStatement: statement(sat('100000'), COFFEE_PAYEE) }), /cost 100000/);
    assert.throws(() => checkLightningTerms(terms, decoded, { ...policy, lightning: false }, job), /no Lightning wallet/);
  });
});
