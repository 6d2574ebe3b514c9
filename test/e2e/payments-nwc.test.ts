// Nostr Wallet Connect (NIP-47) end to end, all real: a client node's daemon serves its LND (alice, on a regtest
// network of btcd and two LND nodes built by scripts/setup-lightning.sh) over a khatru relay (scripts/setup-relay.sh);
// the operator hands out URIs with `infernet wallet connect`; NwcClient pays bob's invoices through them.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Relay } from 'nostr-tools/relay';
import { finalizeEvent, generateSecretKey, getPublicKey } from 'nostr-tools/pure';
import { bytesToHex, hexToBytes } from 'nostr-tools/utils';
import YAML from 'yaml';
import { loadNodeConfig, nodeHome } from '../../src/config/index.js';
import { silentLogger } from '../../src/log/index.js';
import { startRegtestNetwork, type RegtestNetwork } from '../../src/payments/lightning/regtest-network.js';
import { formatNwcUri, NWC_SPENDING_FILE, NwcClient, openNwcInvoicePayer, type LightningInvoicePayer, parseNwcUri, QuotaExceededError, UnauthorizedError, InvoiceNotFoundError, NWC_REQUEST_KIND, NWC_RESPONSE_KIND } from '../../src/payments/nwc/index.js';
import { encryptContent, openResponse } from '../../src/payments/nwc/nwc-messages.js';
import type { NostrEvent as NostrEventLike } from '../../src/protocol/index.js';
import { startTestRelay, type TestRelay } from '../../src/reputation/testing/test-relay.js';
import { eventually, freePort, runCli, startDaemon, type RunningDaemon } from '../support/cli.js';

const PER_PAYMENT_SAT = 5_000;
const PER_DAY_SAT = 8_000;

interface ConnectOutput {
  uri: string;
  pubkey: string;
  walletPubkey: string;
  name: string;
  relays: string[];
  maxPaymentSat: number;
  maxDailySat: number;
  walletFile: string;
}

describe('Nostr Wallet Connect: a daemon serving its LND over a real relay (khatru) on regtest (btcd + 2 LND)', () => {
  let dir: string;
  let home: string;
  let relay: TestRelay;
  let network: RegtestNetwork;
  let daemon: RunningDaemon;
  let phone: ConnectOutput;
  let client: NwcClient;
  const clients: NwcClient[] = [];
  const open = async (uri: string) => {
    const opened = await NwcClient.connect(uri, { requestTimeoutMs: 15_000, payTimeoutMs: 60_000 });
    clients.push(opened);
    return opened;
  };
  const connect = async (...flags: string[]): Promise<ConnectOutput> => {
    const result = await runCli(['wallet', 'connect', '--home', home, '--json', ...flags]);
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout) as ConnectOutput;
  };
  const aliceLocalSat = async () => (await network.alice.client.channelBalance()).localSat;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infernet-nwc-'));
    home = join(dir, 'node');
    [relay, network] = await Promise.all([startTestRelay(), startRegtestNetwork()]);
    const init = await runCli(['init', '--home', home, '--role', 'client', '--port', String(await freePort()), '--api-port', '0']);
    assert.equal(init.code, 0, init.stderr);
    const config = YAML.parse(await readFile(join(home, 'config.yaml'), 'utf8')) as Record<string, unknown>;
    config.storage = { backend: 'file' };
    config.payments = { lightning: { restUrl: network.alice.restUrl, tlsCertPath: network.alice.tlsCertPath, macaroonPath: network.alice.macaroonPath }, nwc: { relays: [relay.url] } };
    await writeFile(join(home, 'config.yaml'), YAML.stringify(config));
    phone = await connect('--name', 'phone', '--max-payment-sat', String(PER_PAYMENT_SAT), '--max-daily-sat', String(PER_DAY_SAT));
    daemon = await startDaemon(home, { until: 'api' });
    client = await open(phone.uri);
  });
  after(async () => {
    for (const opened of clients) opened.close();
    await daemon?.stop();
    await Promise.all([network?.stop(), relay?.stop()]);
    await rm(dir, { recursive: true, force: true });
  });

  it('`wallet connect --json` prints a URI with a fresh secret and the budget, and keeps only public keys in the 0600 wallet file', async () => {
    assert.deepEqual(parseNwcUri(phone.uri).relays, [relay.url]);
    assert.equal(getPublicKey(hexToBytes(parseNwcUri(phone.uri).secret)), phone.pubkey);
    assert.deepEqual([phone.name, phone.maxPaymentSat, phone.maxDailySat], ['phone', PER_PAYMENT_SAT, PER_DAY_SAT]);
    assert.equal((await stat(phone.walletFile)).mode & 0o777, 0o600);
    const walletText = await readFile(phone.walletFile, 'utf8');
    assert.ok(walletText.includes(phone.pubkey));
    assert.ok(!walletText.includes(parseNwcUri(phone.uri).secret), 'the client secret is shown once, never stored');
    const bad = await runCli(['wallet', 'connect', '--home', home, '--max-daily-sat', 'lots']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /--max-daily-sat must be a whole number/);
  });

  it("reads the service's info event, speaks NIP-44 v2 with it, and get_info names alice's node", async () => {
    assert.equal(client.encryption, 'nip44_v2');
    const info = await client.getInfo();
    assert.equal(info.pubkey, (await network.alice.client.getInfo()).identityPubkey);
    assert.deepEqual(info.methods.sort(), ['get_balance', 'get_info', 'lookup_invoice', 'make_invoice', 'pay_invoice']);
  });

  it("answers get_balance with alice's LND channel balance, in msat", async () => {
    assert.equal((await client.getBalance()).balanceMsat, (await aliceLocalSat()) * 1000n);
    // A client that only speaks NIP-04 (the spec's default) is answered in NIP-04.
    const legacy = await NwcClient.connect(phone.uri, { encryption: 'nip04', requestTimeoutMs: 15_000 });
    clients.push(legacy);
    assert.equal((await legacy.getBalance()).balanceMsat, (await aliceLocalSat()) * 1000n);
  });

  it("pays bob's BOLT11 invoice through alice's node: SETTLED on bob, alice down by the amount plus fees", async () => {
    const before = await aliceLocalSat();
    const { paymentRequest, paymentHash } = await network.bob.client.addInvoice(2_100n, 'nwc test');
    const paid = await client.payInvoiceAndWait(paymentRequest);
    assert.equal(createHash('sha256').update(Buffer.from(paid.preimage, 'hex')).digest('hex'), paymentHash);
    assert.equal((await network.bob.client.lookupInvoice(paymentHash)).state, 'SETTLED');
    await eventually(async () => (await aliceLocalSat()) === before - 2_100n - paid.feesPaidMsat / 1000n, 10_000, "alice's balance to drop by the payment");
  });

  it("payInvoice returns while a hold invoice's payment is in flight; it settles when bob settles", async () => {
    const preimage = bytesToHex(generateSecretKey());
    const hash = createHash('sha256').update(Buffer.from(preimage, 'hex')).digest('hex');
    const before = await aliceLocalSat();
    const { paymentRequest } = await network.bob.client.addHoldInvoice(hash, 1_000n, 'held job');
    const started = Date.now();
    await client.payInvoice(paymentRequest);
    assert.ok(Date.now() - started < 15_000);
    await eventually(async () => (await network.bob.client.lookupInvoice(hash)).state === 'ACCEPTED', 20_000, 'bob to hold the payment');
    await network.bob.client.settleInvoice(preimage);
    await eventually(async () => (await network.bob.client.lookupInvoice(hash)).state === 'SETTLED', 20_000, 'the hold invoice to settle');
    // A direct channel charges no routing fee; the HTLC's own commitment fee is back once it is resolved.
    await eventually(async () => (await aliceLocalSat()) === before - 1_000n, 20_000, "alice's balance to drop by the held payment");
  });

  it('pays a job invoice as a LightningInvoicePayer through the wallet another node set with `--pay-with`', async () => {
    const payer = join(dir, 'payer');
    assert.equal((await runCli(['init', '--home', payer, '--role', 'client', '--port', String(await freePort())])).code, 0);
    const bad = await runCli(['wallet', 'connect', '--home', payer, '--pay-with', 'https://wallet.example']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /not a Nostr Wallet Connect URI/);
    const grant = await connect('--name', 'job-client');
    const set = await runCli(['wallet', 'connect', '--home', payer, '--pay-with', grant.uri, '--json']);
    assert.equal(set.code, 0, set.stderr);
    assert.deepEqual(JSON.parse(set.stdout), { payWith: { walletPubkey: grant.walletPubkey, relays: [relay.url] } });
    const payerHome = nodeHome(payer);
    const invoicePayer: LightningInvoicePayer | undefined = await openNwcInvoicePayer({ home: payerHome, config: await loadNodeConfig(payerHome), logger: silentLogger(), inFlightAfterMs: 1_000 });
    assert.ok(invoicePayer instanceof NwcClient);
    clients.push(invoicePayer);
    const before = await aliceLocalSat();
    const { paymentRequest, paymentHash } = await network.bob.client.addInvoice(500n, 'a job');
    await invoicePayer.payInvoice(paymentRequest);
    await eventually(async () => (await network.bob.client.lookupInvoice(paymentHash)).state === 'SETTLED', 20_000, "bob's invoice to be paid");
    await eventually(async () => (await aliceLocalSat()) === before - 500n, 20_000, 'the payment to leave alice');
  });

  it('refuses with QUOTA_EXCEEDED a payment over the per-payment or the daily budget, and nothing leaves alice', async () => {
    const before = await aliceLocalSat();
    const tooBig = await network.bob.client.addInvoice(BigInt(PER_PAYMENT_SAT + 1), 'too big');
    await assert.rejects(client.payInvoiceAndWait(tooBig.paymentRequest), (error: unknown) => error instanceof QuotaExceededError && error.walletCode === 'QUOTA_EXCEEDED' && /per payment/.test(error.message));
    // 2,100 + 1,000 spent today: 4,990 more (+ the 10 sat fee limit) passes the 8,000 a day though not 5,000 a payment.
    const overDaily = await network.bob.client.addInvoice(4_990n, 'over the day');
    await assert.rejects(client.payInvoiceAndWait(overDaily.paymentRequest), (error: unknown) => error instanceof QuotaExceededError && /per 24 h: 3(100|110) sat spent/.test(error.message));
    assert.equal((await network.bob.client.lookupInvoice(tooBig.paymentHash)).state, 'OPEN');
    assert.equal((await network.bob.client.lookupInvoice(overDaily.paymentHash)).state, 'OPEN');
    assert.equal(await aliceLocalSat(), before);
  });

  it("keeps a connection's spending across a daemon restart, and learns from LND how payments a crash left open ended", async () => {
    await daemon.stop('SIGKILL');
    // What a crash between reserving and recording leaves: one payment LND made, one it never started.
    const made = await network.bob.client.addInvoice(7n, 'paid before the crash');
    assert.equal((await network.alice.client.payInvoice(made.paymentRequest)).status, 'SUCCEEDED');
    const spendingPath = join(home, NWC_SPENDING_FILE);
    const record = JSON.parse(await readFile(spendingPath, 'utf8')) as { entries: Array<Record<string, unknown>> };
    const crashed = { pubkey: 'd'.repeat(64), at: Date.now(), state: 'reserved', amountSat: 7 };
    record.entries.push({ ...crashed, requestId: 'crash-paid', paymentHash: made.paymentHash, sat: 17 }, { ...crashed, requestId: 'crash-unsent', paymentHash: 'ef'.repeat(32), sat: 17 });
    await writeFile(spendingPath, JSON.stringify(record));
    daemon = await startDaemon(home, { until: 'api' });
    const overDaily = await network.bob.client.addInvoice(4_990n, 'still over the day');
    await assert.rejects(client.payInvoiceAndWait(overDaily.paymentRequest), (error: unknown) => error instanceof QuotaExceededError && /per 24 h: 3100 sat spent/.test(error.message));
    const stateOf = async (requestId: string) => ((JSON.parse(await readFile(spendingPath, 'utf8')) as { entries: Array<{ requestId: string; state: string; sat: number }> }).entries.find((entry) => entry.requestId === requestId));
    await eventually(async () => (await stateOf('crash-paid'))?.state === 'paid' && (await stateOf('crash-unsent'))?.state === 'failed', 20_000, 'the open payments to be reconciled');
    assert.equal((await stateOf('crash-paid'))?.sat, 7, 'counted at what it cost, not at the reservation');
  });

  it('makes an invoice on alice and looks it up; an unknown hash is NOT_FOUND', async () => {
    const made = await client.makeInvoice({ amountMsat: 3_000_000n, description: 'for a job' });
    assert.equal(made.amountMsat, 3_000_000n);
    assert.equal((await network.alice.client.decodeInvoice(made.invoice)).paymentHash, made.paymentHash);
    const found = await client.lookupInvoice({ paymentHash: made.paymentHash });
    assert.deepEqual([found.paymentHash, found.state, found.amountMsat], [made.paymentHash, 'pending', 3_000_000n]);
    await assert.rejects(client.lookupInvoice({ paymentHash: 'ab'.repeat(32) }), InvoiceNotFoundError);
  });

  it('answers UNAUTHORIZED to a request signed by a key with no connection', async () => {
    const stranger = await open(formatNwcUri({ walletPubkey: phone.walletPubkey, relays: [relay.url], secret: bytesToHex(generateSecretKey()) }));
    await assert.rejects(stranger.getBalance(), (error: unknown) => error instanceof UnauthorizedError && error.walletCode === 'UNAUTHORIZED');
  });

  it('refuses a connection from the moment it is revoked, while the daemon runs', async () => {
    const laptop = await connect('--name', 'laptop');
    const laptopClient = await open(laptop.uri);
    assert.ok((await laptopClient.getBalance()).balanceMsat > 0n);
    const revoked = await runCli(['wallet', 'connect', '--home', home, '--json', '--revoke', laptop.pubkey]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.equal((JSON.parse(revoked.stdout) as { pubkey: string }).pubkey, laptop.pubkey);
    await assert.rejects(laptopClient.getBalance(), (error: unknown) => error instanceof UnauthorizedError && /revoked/.test(error.message));
    const listed = JSON.parse((await runCli(['wallet', 'connect', '--home', home, '--list', '--json'])).stdout) as Array<{ pubkey: string; revokedAt?: string }>;
    assert.deepEqual([phone.pubkey, laptop.pubkey].map((pubkey) => Boolean(listed.find((entry) => entry.pubkey === pubkey)?.revokedAt)), [false, true]);
    assert.ok((await client.getBalance()).balanceMsat > 0n, 'the other connection still works');
  });

  it('ignores a tampered or wrongly encrypted request with a logged reason, answers neither, and answers NOT_IMPLEMENTED to an unserved method', async () => {
    const secret = hexToBytes(parseNwcUri(phone.uri).secret);
    const raw = await Relay.connect(relay.url, { enableReconnect: false });
    try {
      const answers: string[] = [];
      raw.subscribe([{ kinds: [NWC_RESPONSE_KIND], '#p': [phone.pubkey], since: Math.floor(Date.now() / 1000) - 1 }], { onevent: (event) => answers.push(event.tags.find((tag) => tag[0] === 'e')?.[1] ?? '') });
      const request = (content: string) => finalizeEvent({ kind: NWC_REQUEST_KIND, created_at: Math.floor(Date.now() / 1000), content, tags: [['p', phone.walletPubkey], ['encryption', 'nip44_v2']] }, secret);
      const genuine = request(encryptContent('nip44_v2', secret, phone.walletPubkey, JSON.stringify({ method: 'get_balance', params: {} })));
      // Tampered: the relay itself refuses it, so it never reaches the service.
      await assert.rejects(raw.publish({ ...genuine, content: genuine.content.replace(/^./, (c) => (c === 'A' ? 'B' : 'A')) }), /invalid/);
      // Encrypted for another key: signed by the connection's own key, so it is delivered, and the service cannot read it.
      const unreadable = request(encryptContent('nip44_v2', secret, getPublicKey(generateSecretKey()), JSON.stringify({ method: 'get_balance', params: {} })));
      await raw.publish(unreadable);
      await eventually(() => daemon.log().includes(unreadable.id), 10_000, 'the service to log the ignored request');
      const line = daemon.log().split('\n').find((entry) => entry.includes(unreadable.id))!;
      assert.match(line, /NWC: request ignored/);
      assert.match(line, /cannot decrypt the content as nip44_v2/);
      // A genuine request on the same socket is answered: the silence above is the service ignoring, not a dead relay.
      await raw.publish(genuine);
      await eventually(() => answers.includes(genuine.id), 10_000, 'the answer to the genuine request');
      assert.ok(!answers.includes(unreadable.id));
      // A method the service does not serve is answered, with NOT_IMPLEMENTED.
      const unknown = request(encryptContent('nip44_v2', secret, phone.walletPubkey, JSON.stringify({ method: 'list_transactions', params: {} })));
      const reply = new Promise<NostrEventLike>((resolve) => raw.subscribe([{ kinds: [NWC_RESPONSE_KIND], '#e': [unknown.id] }], { onevent: resolve }));
      await raw.publish(unknown);
      assert.equal(openResponse(await reply, secret, 'nip44_v2')?.error?.code, 'NOT_IMPLEMENTED');
    } finally {
      raw.close();
    }
  });
});
