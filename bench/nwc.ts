// What Nostr Wallet Connect costs over calling LND directly: a real relay (khatru, scripts/setup-relay.sh) and a
// real regtest network (scripts/setup-lightning.sh). Per operation, the median of ROUNDS: get_balance through the
// NWC service against LND's channel balance over REST, and paying a 10-sat invoice of bob's through NWC against
// alice's LND paying it directly, both measured in the same run. The difference is the relay round trip, the
// encryption and the service's budget bookkeeping (a file write before and after each payment).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../src/log/index.js';
import { LightningBinariesMissingError, startRegtestNetwork, type RegtestNetwork } from '../src/payments/lightning/regtest-network.js';
import { createConnection, ensureServiceKey, NwcClient, NwcWalletService } from '../src/payments/nwc/index.js';
import { RelayNotBuiltError, startTestRelay, type TestRelay } from '../src/reputation/testing/test-relay.js';

const ROUNDS = 10;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

async function timed(run: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await run();
  return performance.now() - started;
}

async function main(): Promise<void> {
  let relay: TestRelay;
  let network: RegtestNetwork;
  try {
    [relay, network] = await Promise.all([startTestRelay(), startRegtestNetwork()]);
  } catch (error) {
    if (error instanceof LightningBinariesMissingError || error instanceof RelayNotBuiltError) return console.log(`nwc: skipped (${error.message})`);
    throw error;
  }
  const dir = await mkdtemp(join(tmpdir(), 'infernet-bench-nwc-'));
  const walletPath = join(dir, 'wallet.json');
  try {
    const connection = await createConnection(walletPath, { relays: [relay.url], maxPaymentSat: 1_000_000, maxDailySat: 1_000_000 });
    const service = await NwcWalletService.start({ serviceSecret: await ensureServiceKey(walletPath), relays: [relay.url], walletPath, spendingPath: join(dir, 'spending.json'), lnd: network.alice.client, logger: silentLogger() });
    const client = await NwcClient.connect(connection.uri);
    try {
      const lnd = network.alice.client;
      const invoice = async () => (await network.bob.client.addInvoice(10n, 'bench')).paymentRequest;
      await client.getBalance(); // warm-up: first conversation key, first subscription match
      const ms = { balanceDirect: [] as number[], balanceNwc: [] as number[], payDirect: [] as number[], payNwc: [] as number[] };
      for (let i = 0; i < ROUNDS; i++) {
        ms.balanceDirect.push(await timed(() => lnd.channelBalance()));
        ms.balanceNwc.push(await timed(() => client.getBalance()));
        const direct = await invoice();
        ms.payDirect.push(await timed(() => lnd.payInvoice(direct)));
        const viaNwc = await invoice();
        ms.payNwc.push(await timed(() => client.payInvoiceAndWait(viaNwc)));
      }
      const line = (name: string, nwc: number[], direct: number[]) =>
        console.log(`nwc ${name.padEnd(12)} NWC ${median(nwc).toFixed(1)} ms  direct LND REST ${median(direct).toFixed(1)} ms  ratio ${(median(nwc) / median(direct)).toFixed(2)}x  (median of ${ROUNDS})`);
      line('get_balance', ms.balanceNwc, ms.balanceDirect);
      line('pay_invoice', ms.payNwc, ms.payDirect);
    } finally {
      client.close();
      service.stop();
    }
  } finally {
    await Promise.all([network.stop(), relay.stop()]);
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
