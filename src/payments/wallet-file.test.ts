import assert from 'node:assert/strict';
import { chmod, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { validateNodeConfig } from '../config/index.js';
import { WalletConfigError } from './payment-errors.js';
import { initWallet, loadWallet } from './wallet-file.js';

const dirs: string[] = [];
after(async () => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));
async function tempFile(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'infernet-wallet-'));
  dirs.push(dir);
  return join(dir, 'wallet.json');
}

describe('the wallet file', () => {
  it('is created once with a fresh key, mode 0600, and kept on later inits', async () => {
    const path = await tempFile();
    const first = await initWallet(path);
    assert.equal(first.created, true);
    assert.match(first.wallet.evm!.address, /^0x[0-9a-fA-F]{40}$/);
    assert.equal((await stat(path)).mode & 0o777, 0o600);
    const second = await initWallet(path);
    assert.equal(second.created, false);
    assert.equal(second.wallet.evm!.address, first.wallet.evm!.address);
  });

  it('is refused while other users can read it, with the chmod that fixes it', async () => {
    const path = await tempFile();
    await initWallet(path);
    await chmod(path, 0o644);
    await assert.rejects(loadWallet(path), (error: unknown) => error instanceof WalletConfigError && /chmod 600/.test(error.message));
  });

  it('names the field of a malformed key', async () => {
    const path = await tempFile();
    await writeFile(path, JSON.stringify({ evm: { privateKey: '0x1234' } }), { mode: 0o600 });
    await assert.rejects(loadWallet(path), /evm\.privateKey: must be a 0x-prefixed 32-byte hex key/);
  });

  it('is optional: a missing file is a wallet without keys', async () => {
    assert.equal((await loadWallet(await tempFile())).evm, undefined);
  });
});

describe('the payments section of config.yaml', () => {
  it('takes Polygon, Amoy or a local chain, with the escrow address and RPC URL, and no keys', () => {
    const config = validateNodeConfig({ payments: { evm: { network: 'amoy', rpcUrl: 'https://rpc-amoy.polygon.technology', escrow: `0x${'ab'.repeat(20)}` } } }, 'config.yaml');
    assert.equal(config.payments?.evm?.network, 'amoy');
    assert.equal(config.payments?.walletFile, 'wallet.json');
    assert.equal(validateNodeConfig({}, 'config.yaml').payments, undefined);
  });

  it('refuses a bad address or a private key in the config, naming the field', () => {
    assert.throws(() => validateNodeConfig({ payments: { evm: { network: 'polygon', rpcUrl: 'https://polygon-rpc.com', escrow: '0x12' } } }, 'config.yaml'), /config\.yaml: payments\.evm\.escrow: must be a 0x-prefixed 20-byte hex address/);
    assert.throws(() => validateNodeConfig({ payments: { evm: { network: 'polygon', rpcUrl: 'https://polygon-rpc.com', escrow: `0x${'ab'.repeat(20)}`, privateKey: `0x${'11'.repeat(32)}` } } }, 'config.yaml'), /payments\.evm: Unrecognized key/);
  });
});
