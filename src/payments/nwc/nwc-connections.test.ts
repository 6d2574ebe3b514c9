import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { getPublicKey } from 'nostr-tools/pure';
import { hexToBytes } from 'nostr-tools/utils';
import { initWallet, loadWallet } from '../wallet-file.js';
import { createConnection, ensureServiceKey, readNwcSection, revokeConnection } from './nwc-connections.js';
import { NwcStateError } from './nwc-errors.js';
import { NwcSpending } from './nwc-spending.js';
import { parseNwcUri } from './nwc-uri.js';

describe('NWC connections in the wallet file, and their spending record', () => {
  let dir: string;
  before(async () => (dir = await mkdtemp(join(tmpdir(), 'infernet-nwc-state-'))));
  after(async () => rm(dir, { recursive: true, force: true }));

  it('adds connections beside the EVM key, mode 0600, and the key survives (and is kept by) `wallet init`', async () => {
    const path = join(dir, 'wallet.json');
    const { wallet } = await initWallet(path);
    const first = await createConnection(path, { relays: ['ws://127.0.0.1:1'], name: 'phone', maxPaymentSat: 10, maxDailySat: 20 });
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    assert.equal((await loadWallet(path)).evm?.address, wallet.evm?.address, 'the EVM key is kept');
    assert.equal(first.walletPubkey, getPublicKey(await ensureServiceKey(path)), 'one service key, made once');
    assert.equal(getPublicKey(hexToBytes(parseNwcUri(first.uri).secret)), first.pubkey);
    const fresh = join(dir, 'fresh.json');
    await createConnection(fresh, { relays: ['ws://127.0.0.1:1'] });
    await initWallet(fresh);
    assert.equal((await readNwcSection(fresh))?.connections.length, 1, '`wallet init` on a file with connections keeps them');
  });

  it('revokes by public key and names an unknown one', async () => {
    const path = join(dir, 'revoke.json');
    const made = await createConnection(path, { relays: ['ws://127.0.0.1:1'] });
    assert.ok((await revokeConnection(path, made.pubkey)).revokedAt);
    assert.ok((await readNwcSection(path))?.connections[0]?.revokedAt);
    await assert.rejects(revokeConnection(path, 'c'.repeat(64)), NwcStateError);
  });

  it('refuses a wallet file others can read, and a malformed nwc section, with a named error', async () => {
    const open = join(dir, 'open.json');
    await writeFile(open, '{}', { mode: 0o644 });
    await assert.rejects(createConnection(open, { relays: ['ws://127.0.0.1:1'] }), (error: unknown) => error instanceof NwcStateError && /chmod 600/.test(error.message));
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ nwc: { serviceSecretKey: 'nope' } }), { mode: 0o600 });
    await assert.rejects(readNwcSection(bad), (error: unknown) => error instanceof NwcStateError && /serviceSecretKey/.test(error.message));
  });

  it('records a reservation on disk before paying, and reads it back after a restart', async () => {
    const path = join(dir, 'spending.json');
    const budget = { maxPaymentSat: 100, maxDailySat: 150 };
    const spending = await NwcSpending.open(path);
    assert.deepEqual(await spending.reserve(budget, 'k', 'req-1', 100, 10), { ok: true });
    const reopened = await NwcSpending.open(path);
    assert.ok(reopened.has('req-1'));
    assert.equal((await reopened.reserve(budget, 'k', 'req-2', 50, 0)).ok, false, 'the in-flight reservation still counts');
    await reopened.finish('req-1', 'failed');
    assert.equal((await (await NwcSpending.open(path)).reserve(budget, 'k', 'req-3', 50, 0)).ok, true, 'a failed payment frees its budget');
    await writeFile(path, 'garbage');
    await assert.rejects(NwcSpending.open(path), NwcStateError);
    assert.match(await readFile(path, 'utf8'), /garbage/, 'a bad record is left for the operator, not overwritten');
  });
});
