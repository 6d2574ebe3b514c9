// Settlement cost on a real local chain (hardhat node, automining: latency here is the node's work, not Polygon's
// ~2 s blocks). Per job: gas of deposit, release and refund against a plain ERC-20 transfer measured in the same
// run; latency of a settlement through the SettlementService (ledger writes in PocketBase + transaction +
// receipt) against a bare escrow release; and gas per job when releases are batched. Then, when the regtest
// binaries are built (scripts/setup-lightning.sh), Lightning on regtest: a hold invoice's pay-hold-settle cycle
// against a plain invoice payment over the same channel.
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createWalletClient, http } from 'viem';
import { silentLogger } from '../src/log/index.js';
import { testTokenAbi } from '../src/payments/evm/contract-artifacts.js';
import { startLocalChain } from '../src/payments/evm/local-chain.js';
import { EscrowClient, EscrowRail, HoldInvoiceRail, PaymentLedger, SettlementService } from '../src/payments/index.js';
import { LightningBinariesMissingError, startRegtestNetwork } from '../src/payments/lightning/regtest-network.js';
import { newHoldSecret, paymentHashOf } from '../src/payments/lightning/run-preimage.js';
import { startPocketBase } from '../src/storage/index.js';

const JOBS = 10;
const BATCH_SIZES = [1, 5, 20];
const AMOUNT = 1_000_000n;
const FEE = 50_000n;

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const medianBig = (values: bigint[]) => [...values].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0))[Math.floor(values.length / 2)]!;

async function main(): Promise<void> {
  const chain = await startLocalChain();
  const home = await mkdtemp(join(tmpdir(), 'infernet-bench-payments-'));
  const pocketbase = await startPocketBase({ home });
  try {
    const [client, aggregator, provider] = await Promise.all([chain.newAccount(10n ** 12n), chain.newAccount(), chain.newAccount()]);
    const connect = (account: typeof client.account) => new EscrowClient({ chain: chain.chain, rpcUrl: chain.rpcUrl, escrow: chain.escrow, token: chain.token, account, pollingIntervalMs: 20 });
    const payer = connect(client.account);
    const settler = connect(aggregator.account);
    await payer.approve(10n ** 12n); // one approval for the whole run: a deposit's gas is then the deposit alone
    const deposit = async (jobId: string) => {
      const block = await chain.reader.getBlock();
      return payer.deposit({ jobId, provider: provider.account.address, aggregator: aggregator.account.address, amount: AMOUNT, fee: FEE, deadline: block.timestamp + 3600n });
    };
    const wallet = createWalletClient({ chain: chain.chain, transport: http(chain.rpcUrl), account: client.account });
    const transfer = async () => {
      const started = performance.now();
      const hash = await wallet.writeContract({ address: chain.token, abi: testTokenAbi, functionName: 'transfer', args: [provider.account.address, AMOUNT] });
      const receipt = await chain.reader.waitForTransactionReceipt({ hash, pollingInterval: 20 });
      return { ms: performance.now() - started, gas: receipt.gasUsed };
    };
    const service = new SettlementService({ ledger: new PaymentLedger(pocketbase.client), rails: [new EscrowRail(settler)], role: 'aggregator', logger: silentLogger() });

    const gas = { transfer: [] as bigint[], deposit: [] as bigint[], release: [] as bigint[], refund: [] as bigint[] };
    const ms = { transfer: [] as number[], release: [] as number[], service: [] as number[] };
    await transfer(); // warm-up
    for (let i = 0; i < JOBS; i++) {
      const plain = await transfer();
      gas.transfer.push(plain.gas);
      ms.transfer.push(plain.ms);
      const bare = randomUUID();
      gas.deposit.push((await deposit(bare)).gasUsed);
      let started = performance.now();
      gas.release.push((await settler.release(bare)).gasUsed);
      ms.release.push(performance.now() - started);
      const settled = randomUUID();
      await deposit(settled);
      started = performance.now();
      await service.settle(settled, 'release');
      ms.service.push(performance.now() - started);
      const refunded = randomUUID();
      await deposit(refunded);
      gas.refund.push((await settler.refund(refunded)).gasUsed);
    }
    const batches: { size: number; perJob: bigint }[] = [];
    for (const size of BATCH_SIZES) {
      const jobs = Array.from({ length: size }, () => randomUUID());
      for (const jobId of jobs) await deposit(jobId);
      batches.push({ size, perJob: (await settler.releaseBatch(jobs)).gasUsed / BigInt(size) });
    }

    const transferGas = medianBig(gas.transfer);
    const releaseGas = medianBig(gas.release);
    const ratio = (value: bigint, base: bigint) => (Number(value) / Number(base)).toFixed(2);
    console.log(`\n# payments: escrow settlement on a local chain (${JOBS} jobs, medians)`);
    console.log('| step | gas | vs plain ERC-20 transfer |');
    console.log('| --- | --- | --- |');
    console.log(`| plain ERC-20 transfer (baseline) | ${transferGas} | 1.00 |`);
    console.log(`| deposit (client) | ${medianBig(gas.deposit)} | ${ratio(medianBig(gas.deposit), transferGas)} |`);
    console.log(`| release (aggregator: provider + fee) | ${releaseGas} | ${ratio(releaseGas, transferGas)} |`);
    console.log(`| refund (aggregator) | ${medianBig(gas.refund)} | ${ratio(medianBig(gas.refund), transferGas)} |`);
    console.log(`\n| settlement latency | ms | vs plain transfer |`);
    console.log('| --- | --- | --- |');
    console.log(`| plain ERC-20 transfer + receipt (baseline) | ${median(ms.transfer).toFixed(1)} | 1.00 |`);
    console.log(`| bare escrow release + receipt | ${median(ms.release).toFixed(1)} | ${(median(ms.release) / median(ms.transfer)).toFixed(2)} |`);
    console.log(`| SettlementService (ledger record, decision, release, ledger + job update) | ${median(ms.service).toFixed(1)} | ${(median(ms.service) / median(ms.transfer)).toFixed(2)} |`);
    console.log(`\n| releases per transaction | gas per job | vs single release |`);
    console.log('| --- | --- | --- |');
    for (const batch of batches) console.log(`| ${batch.size} (releaseBatch) | ${batch.perJob} | ${ratio(batch.perJob, releaseGas)} |`);
    await benchLightning(new PaymentLedger(pocketbase.client));
  } finally {
    await pocketbase.stop();
    await chain.stop();
    await rm(home, { recursive: true, force: true });
  }
}

/** Plain invoice payments against hold invoices paid, held, then settled by the SettlementService. */
async function benchLightning(ledger: PaymentLedger): Promise<void> {
  const network = await startRegtestNetwork().catch((error: unknown) => {
    if (error instanceof LightningBinariesMissingError) return undefined;
    throw error;
  });
  if (!network) return console.log('\n(Lightning skipped: run scripts/setup-lightning.sh to build btcd and lnd)');
  try {
    const { alice, bob } = network;
    const rail = new HoldInvoiceRail(bob.client, ledger);
    const service = new SettlementService({ ledger, rails: [rail], role: 'provider', logger: silentLogger() });
    const plain: number[] = [];
    const hold: number[] = [];
    const settle: number[] = [];
    for (let i = 0; i < JOBS; i++) {
      const invoice = await bob.client.addInvoice(1_000n, 'bench');
      let started = performance.now();
      await alice.client.payInvoice(invoice.paymentRequest);
      plain.push(performance.now() - started);
      const jobId = randomUUID();
      started = performance.now();
      // The paying side makes the preimage (attack 7); bob learns it only to settle.
      const preimage = newHoldSecret();
      const { paymentRequest, paymentHash } = await rail.invoiceFor(jobId, 1_000n, paymentHashOf(preimage));
      await alice.client.payInvoice(paymentRequest, { until: (update) => update.status === 'IN_FLIGHT' });
      while ((await bob.client.lookupInvoice(paymentHash)).state !== 'ACCEPTED') await new Promise((resolve) => setTimeout(resolve, 10));
      const held = performance.now();
      await rail.acceptPreimage(jobId, preimage);
      await service.settle(jobId, 'release');
      await alice.client.trackPayment(paymentHash);
      settle.push(performance.now() - held);
      hold.push(performance.now() - started);
    }
    console.log(`\n# payments: Lightning on regtest, alice -> bob over one channel (${JOBS} payments of 1,000 sat, medians)`);
    console.log('| path | ms | vs plain payment |');
    console.log('| --- | --- | --- |');
    console.log(`| plain invoice, paid (baseline) | ${median(plain).toFixed(1)} | 1.00 |`);
    console.log(`| hold invoice: made, paid, held, settled by the SettlementService, payer told | ${median(hold).toFixed(1)} | ${(median(hold) / median(plain)).toFixed(2)} |`);
    console.log(`| of which settlement after verification (ledger + settle + payer told) | ${median(settle).toFixed(1)} | ${(median(settle) / median(plain)).toFixed(2)} |`);
  } finally {
    await network.stop();
  }
}

await main();
