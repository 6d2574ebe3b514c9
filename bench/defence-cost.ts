// What the defences against dishonest peers cost a paid, checked job (docs/threat-model.md): the end-to-end time of a
// redundant(2) job paid by escrow on providers that read their own deposit on chain before running (attack 2) and
// fingerprint every generation (attack 4, top-4), with checks drawn by the aggregator (attack 3) and the client's
// check of the signed payout terms (attack 6), against the same job on providers that trust the aggregator's word
// for the deposit and fingerprint nothing (top-0), alternately in one run. The client-side and aggregator-side checks
// are pure and run in both; what differs is what the providers do before and during the run.
// Real parts: a hardhat local chain (automine), in-process daemons over real sockets, llama.cpp (stories260K).
import { randomUUID } from 'node:crypto';
import { privateKeyToAccount, generatePrivateKey } from 'viem/accounts';
import { generateNodeKey } from '../src/identity/index.js';
import { sharedModelPath } from '../src/models/shared-test-models.js';
import { runVerifiedJob } from '../src/client/index.js';
import type { NodeDaemon } from '../src/node/node-daemon.js';
import { ClientJobPayer, EscrowClient } from '../src/payments/index.js';
import { JobSpec } from '../src/protocol/index.js';
import { median, withLocalChain } from './bench-node.js';
import { reportFigure } from './summary/bench-figure.js';

const JOBS = Number(process.argv[2] ?? 8);
const MAX_TOKENS = 48;
const PRICE = { amount: '1', currency: 'USDC', per: '1k_tokens' } as const;

async function main(): Promise<void> {
  await withLocalChain(async ({ chain, node, session }) => {
    const evm = { network: 'local', rpcUrl: chain.rpcUrl, escrow: chain.escrow, token: chain.token } as const;
    const model = sharedModelPath('stories260K.gguf');
    const provider = (defended: boolean) =>
      node({
        role: 'provider',
        models: [model],
        // A node that settles or reads payments keeps its ledger in PocketBase; the bare providers need none.
        ...(defended ? {} : { storage: { backend: 'file' as const } }),
        provider: { slots: 2, sandbox: 'none', price: PRICE },
        // Defended: the provider reads its own deposit before it runs anything; fingerprints top-4 (the default).
        payments: { payoutAddress: privateKeyToAccount(generatePrivateKey()).address, ...(defended ? { evm } : {}) },
        verification: { fingerprintTopK: defended ? 4 : 0 },
      });
    const defended = [await provider(true), await provider(true)];
    const bare = [await provider(false), await provider(false)];
    const aggregatorOf = async (providers: NodeDaemon[]) => node({ role: 'aggregator', connect: providers.map((provider) => provider.url!), payments: { evm } }, (await chain.newAccount()).privateKey);
    const aggregators = { defended: await aggregatorOf(defended), bare: await aggregatorOf(bare) };
    for (const aggregator of Object.values(aggregators)) while ((aggregator.aggregator?.providerCount ?? 0) < 2) await new Promise((resolve) => setTimeout(resolve, 20));
    const key = generateNodeKey();
    const { account } = await chain.newAccount(10n ** 12n);
    const payer = new ClientJobPayer({ escrow: new EscrowClient({ chain: chain.chain, rpcUrl: chain.rpcUrl, escrow: chain.escrow, token: chain.token, account, pollingIntervalMs: 20 }), maxFeeBps: 1000 });
    const sessions = { defended: await session(aggregators.defended, key), bare: await session(aggregators.bare, key) };
    const ms = { defended: [] as number[], bare: [] as number[] };
    for (let i = 0; i < JOBS; i++) {
      for (const kind of ['bare', 'defended'] as const) {
        const spec = JobSpec.parse({ jobId: randomUUID(), model: { name: 'stories260K' }, input: { prompt: 'Once upon a time' }, sampling: { maxTokens: MAX_TOKENS, temperature: 0 }, deadline: Date.now() + 120_000, verification: { kind: 'redundant', k: 2 } });
        const started = performance.now();
        const outcome = await runVerifiedJob(sessions[kind], key, spec, { payer });
        if (!outcome.payment || outcome.verification.runs.length !== 2) throw new Error(`a ${kind} job was not paid and checked: ${JSON.stringify(outcome.verification.runs)}`);
        ms[kind].push(performance.now() - started);
      }
    }
    const ratio = median(ms.defended) / median(ms.bare);
    console.log(`\n## What the defences cost a paid, checked job (${JOBS} jobs each, redundant(2), escrow, ${MAX_TOKENS} tokens, local chain)\n`);
    console.log('| job | median ms | ratio to undefended |');
    console.log('| --- | --- | --- |');
    console.log(`| undefended providers (deposit taken on the aggregator's word, no fingerprints) | ${median(ms.bare).toFixed(1)} | 1.00 |`);
    console.log(`| defended providers (own deposit read on chain before running, top-4 fingerprints) | ${median(ms.defended).toFixed(1)} | ${ratio.toFixed(2)} |`);
    reportFigure({ name: 'paid redundant(2) job end to end, defended / undefended providers', value: ratio, unit: 'x' });
  });
}

await main();
