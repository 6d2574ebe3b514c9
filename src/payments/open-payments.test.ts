// Opening a node's payments from config and wallet file, against a real local chain: wrong or unreachable
// chains and missing keys are refused with errors that say what to fix.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { nodeHome, validateNodeConfig } from '../config/index.js';
import { FileJobStore } from '../jobs/index.js';
import { silentLogger } from '../log/index.js';
import { useLocalChain } from './evm/test-fixture.js';
import { ChainUnreachableError, openEscrow, openSettlement, WrongChainError } from './open-payments.js';
import { PaymentsNotConfiguredError, WalletConfigError } from './payment-errors.js';
import { initWallet, loadWallet } from './wallet-file.js';

const localChain = useLocalChain();
const dirs: string[] = [];
after(async () => Promise.all(dirs.map((dir) => rm(dir, { recursive: true, force: true }))));

describe('opening payments', () => {
  it('refuses an RPC endpoint that serves another chain than the configured network', async () => {
    const chain = await localChain();
    const evm = { network: 'polygon' as const, rpcUrl: chain.rpcUrl, escrow: chain.escrow, token: chain.token };
    await assert.rejects(openEscrow(evm, { path: 'none' }), (error: unknown) => error instanceof WrongChainError && error.expected === 137 && error.actual === 31337);
    await assert.rejects(openEscrow({ ...evm, network: 'local', escrow: undefined }, { path: 'none' }), (error: unknown) => error instanceof PaymentsNotConfiguredError && /wallet deploy/.test(error.message));
    const escrow = await openEscrow({ ...evm, network: 'local' }, { path: 'none' });
    assert.equal(await escrow.tokenBalance(chain.escrow), 0n);
  });

  it('names the RPC URL it cannot reach', async () => {
    await assert.rejects(openEscrow({ network: 'amoy', rpcUrl: 'http://127.0.0.1:9', escrow: `0x${'ab'.repeat(20)}` }, { path: 'none' }), (error: unknown) => error instanceof ChainUnreachableError && /127\.0\.0\.1:9/.test(error.message));
  });

  it('needs an EVM key in the wallet file and a PocketBase ledger to settle as an aggregator', async () => {
    const chain = await localChain();
    const dir = await mkdtemp(join(tmpdir(), 'infernet-open-payments-'));
    dirs.push(dir);
    const config = validateNodeConfig({ role: 'aggregator', payments: { evm: { network: 'local', rpcUrl: chain.rpcUrl, escrow: chain.escrow, token: chain.token } } }, 'config.yaml');
    const jobs = new FileJobStore(join(dir, 'jobs.jsonl'));
    const options = { home: nodeHome(dir), config, jobs, role: 'aggregator' as const, logger: silentLogger() };
    await assert.rejects(openSettlement({ ...options, pocketbase: undefined }), PaymentsNotConfiguredError);
    // Opening only constructs the ledger; no request reaches PocketBase in this test.
    const ledgerClientNotCalled = {} as Parameters<typeof openSettlement>[0]['pocketbase'];
    await assert.rejects(openSettlement({ ...options, pocketbase: ledgerClientNotCalled }), (error: unknown) => error instanceof WalletConfigError && /wallet init/.test(error.message));
    await initWallet(join(dir, 'wallet.json'));
    const opened = await openSettlement({ ...options, pocketbase: ledgerClientNotCalled });
    assert.equal(opened?.escrow?.address, (await loadWallet(join(dir, 'wallet.json'))).evm?.address);
    assert.equal(await openSettlement({ ...options, config: validateNodeConfig({ role: 'aggregator' }, 'c'), pocketbase: ledgerClientNotCalled }), undefined);
    await jobs.close();
  });
});
