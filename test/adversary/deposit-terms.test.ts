// Attack 6 of the threat model: redirected or inflated deposits. A greedy aggregator forwards a real provider's
// match with its own address as the payee, or with the provider's price inflated, to a client that pays through
// the JobEscrow on the real local chain (hardhat), over the real transport. The client pays only terms that agree
// with the payout statement the provider signed: every tampered match is refused by name, no deposit is made and
// no money leaves the client's wallet, while the same aggregator's fair terms are paid (the harness can move money).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { validateNodeConfig } from '../../src/config/index.js';
import { generateNodeKey } from '../../src/identity/index.js';
import { silentLogger } from '../../src/log/index.js';
import { JobFailedError, runJob } from '../../src/client/index.js';
import { ClientJobPayer, EscrowClient, evmTermsFor, signPayoutStatement } from '../../src/payments/index.js';
import { startLocalChain, type LocalChain } from '../../src/payments/evm/local-chain.js';
import { JobSpec, type Frame, type NostrEvent, type Price } from '../../src/protocol/index.js';
import { dialPeer, PeerServer } from '../../src/transport/index.js';

const limits = validateNodeConfig({}, 'test').limits;
const PRICE: Price = { amount: '0.5', currency: 'USDC', per: '1k_tokens' };
const MAX_TOKENS = 24;

type MatchFrame = Extract<Frame, { type: 'job.match' }>;
type EvmTermsOf = Extract<NonNullable<MatchFrame['payment']>, { rail: 'evm' }>;

describe('attack 6: a greedy aggregator redirects or inflates the deposit (local chain)', () => {
  let chain: LocalChain;
  let payer: ClientJobPayer;
  let reader: EscrowClient;
  let client: `0x${string}`;
  let greedy: `0x${string}`;
  /** The honest provider: its key signs its price and payout address. */
  const providerKey = generateNodeKey();
  const payout = `0x${'5e'.repeat(20)}` as const;
  let statement: NostrEvent;

  before(async () => {
    chain = await startLocalChain();
    const wallet = await chain.newAccount(100_000_000n);
    client = wallet.account.address;
    greedy = (await chain.newAccount()).account.address;
    payer = new ClientJobPayer({ escrow: new EscrowClient({ chain: chain.chain, rpcUrl: chain.rpcUrl, escrow: chain.escrow, token: chain.token, account: wallet.account, pollingIntervalMs: 50 }), maxFeeBps: 1000 });
    reader = new EscrowClient({ chain: chain.chain, rpcUrl: chain.rpcUrl, escrow: chain.escrow, token: chain.token, pollingIntervalMs: 50 });
    statement = signPayoutStatement(providerKey, { price: PRICE, evm: payout });
  });
  after(async () => {
    await chain?.stop();
  });

  /**
   * An aggregator on the real transport that answers every job.request with `match(fair terms)`, then rejects the
   * offer. Its match carries the statement of its own escrow address, signed by its node key, unless `match` sets one.
   */
  async function startAggregator(match: (fair: EvmTermsOf, request: Extract<Frame, { type: 'job.request' }>) => Omit<MatchFrame, 'v' | 'type' | 'jobId'>) {
    let offers = 0;
    const key = generateNodeKey();
    const ownStatement = signPayoutStatement(key, { evm: greedy });
    const server = await PeerServer.listen({
      host: '127.0.0.1',
      port: 0,
      identity: { key, role: 'aggregator', agent: 'greedy' },
      limits,
      logger: silentLogger(),
      onSession: (session) =>
        session.onFrame((frame) => {
          if (frame.type === 'job.offer') {
            offers++;
            session.send({ type: 'job.reject', jobId: frame.jobId, code: 'busy', message: 'the test ends here' });
          }
          if (frame.type !== 'job.request') return;
          const fair = evmTermsFor({ price: PRICE, maxTokens: frame.maxTokens, feeBps: 500, chainId: chain.chain.id, escrow: chain.escrow, token: chain.token, provider: payout, aggregator: greedy, jobDeadlineMs: frame.deadline }) as EvmTermsOf;
          const tampered = match(fair, frame);
          session.send({ type: 'job.match', jobId: frame.jobId, ...('aggregatorStatement' in tampered ? {} : { aggregatorStatement: ownStatement }), ...tampered });
        }),
    });
    return { url: server.url, offers: () => offers, close: () => server.close() };
  }

  async function submitTo(url: string): Promise<{ jobId: string; outcome: unknown }> {
    const clientKey = generateNodeKey();
    const session = await dialPeer(url, { identity: { key: clientKey, role: 'client', agent: 'test' }, limits, logger: silentLogger() });
    const jobId = randomUUID();
    const spec = JobSpec.parse({ jobId, model: { name: 'stories260K' }, input: { prompt: 'Once upon a time' }, sampling: { maxTokens: MAX_TOKENS }, deadline: Date.now() + 60_000 });
    try {
      return { jobId, outcome: await runJob(session, clientKey, spec, { payer }).catch((error: unknown) => error) };
    } finally {
      session.close();
    }
  }

  const attacks: Array<[string, (fair: EvmTermsOf) => Omit<MatchFrame, 'v' | 'type' | 'jobId'>, RegExp]> = [
    [
      'names itself as the payee of the deposit, forwarding the provider\'s real statement',
      (fair) => ({ provider: providerKey.publicKey, price: PRICE, payment: { ...fair, provider: greedy }, payoutStatement: statement }),
      /not the payout address 0x5e5e.* the provider signed/,
    ],
    [
      'inflates the provider\'s price tenfold in the unsigned match.price and the amount',
      (fair) => ({ provider: providerKey.publicKey, price: { ...PRICE, amount: '5' }, payment: { ...fair, amount: String(BigInt(fair.amount) * 10n), fee: String(BigInt(fair.fee) * 10n) }, payoutStatement: statement }),
      /ask 120000 but 24 tokens at the provider's signed 0.5 USDC/,
    ],
    [
      'drops the provider\'s statement and pays itself at its own price',
      (fair) => ({ provider: providerKey.publicKey, price: PRICE, payment: { ...fair, provider: greedy } }),
      /no payout statement signed by the provider/,
    ],
    [
      'signs a statement of its own for the provider it matched',
      (fair) => ({ provider: providerKey.publicKey, price: PRICE, payment: { ...fair, provider: greedy }, payoutStatement: signPayoutStatement(generateNodeKey(), { price: PRICE, evm: greedy }) }),
      /not one it signed/,
    ],
    [
      'names as the escrow\'s aggregator (who releases the deposit and takes the fee) an address other than the one it signed',
      (fair) => ({ provider: providerKey.publicKey, price: PRICE, payment: { ...fair, aggregator: `0x${'66'.repeat(20)}` }, payoutStatement: statement }),
      /aggregator 0x6666.*not the address .* the aggregator signed as its own/,
    ],
    [
      'signs no statement of its own escrow address',
      (fair) => ({ provider: providerKey.publicKey, price: PRICE, payment: fair, payoutStatement: statement, aggregatorStatement: undefined }),
      /no statement signed by the aggregator/,
    ],
  ];
  for (const [name, tamper, reason] of attacks) {
    it(`refuses, depositing nothing, an aggregator that ${name}`, async () => {
      const aggregator = await startAggregator(tamper);
      try {
        const before = await reader.tokenBalance(client);
        const { jobId, outcome } = await submitTo(aggregator.url);
        assert.ok(outcome instanceof JobFailedError, `the job failed: ${String(outcome)}`);
        assert.equal(outcome.code, 'payment_refused');
        assert.match(outcome.message, reason);
        assert.equal(aggregator.offers(), 0, 'the job was never offered');
        assert.equal((await reader.escrowOf(jobId)).status, 'none');
        assert.equal(await reader.tokenBalance(client), before);
      } finally {
        await aggregator.close();
      }
    });
  }

  it('pays the same aggregator\'s fair terms: the provider\'s signed payout, its signed price', async () => {
    const aggregator = await startAggregator((fair) => ({ provider: providerKey.publicKey, price: PRICE, payment: fair, payoutStatement: statement }));
    try {
      const before = await reader.tokenBalance(client);
      const { jobId } = await submitTo(aggregator.url);
      assert.equal(aggregator.offers(), 1, 'the paid job was offered');
      const deposit = await reader.escrowOf(jobId);
      assert.deepEqual([deposit.status, deposit.provider.toLowerCase(), deposit.amount, deposit.fee], ['deposited', payout, 12_000n, 600n]);
      assert.equal(await reader.tokenBalance(client), before - 12_600n);
    } finally {
      await aggregator.close();
    }
  });
});
