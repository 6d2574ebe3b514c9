// What paying for a job by itself costs the client: end-to-end time of a job whose match carries escrow terms
// (check, approve + deposit mined, then the offer; the aggregator reads the deposit on chain before dispatch)
// against the same job through an aggregator that takes no payment, alternately in one run on one provider.
// Real parts: a hardhat local chain (automine: a block per transaction), in-process daemons over real sockets.
import { randomUUID } from 'node:crypto';
import { generateNodeKey } from '../src/identity/index.js';
import { sharedModelPath } from '../src/models/shared-test-models.js';
import { runJob } from '../src/client/index.js';
import { ClientJobPayer, EscrowClient } from '../src/payments/index.js';
import { JobSpec } from '../src/protocol/index.js';
import { median, withLocalChain } from './bench-node.js';

const JOBS = Number(process.argv[2] ?? 10);
const MAX_TOKENS = 32;

async function main(): Promise<void> {
  await withLocalChain(async ({ chain, node, session }) => {
    const model = sharedModelPath('stories260K.gguf');
    const provider = await node({ role: 'provider', models: [model], storage: { backend: 'file' }, provider: { sandbox: 'none', price: { amount: '1', currency: 'USDC', per: '1k_tokens' } }, payments: { payoutAddress: `0x${'5e'.repeat(20)}` } });
    const settler = await chain.newAccount();
    const paid = await node({ role: 'aggregator', connect: [provider.url!], payments: { evm: { network: 'local', rpcUrl: chain.rpcUrl, escrow: chain.escrow, token: chain.token } } }, settler.privateKey);
    const free = await node({ role: 'aggregator', connect: [provider.url!], storage: { backend: 'file' } });
    for (const aggregator of [paid, free]) while ((aggregator.aggregator?.providerCount ?? 0) < 1) await new Promise((resolve) => setTimeout(resolve, 20));
    const key = generateNodeKey();
    const { account } = await chain.newAccount(10n ** 12n);
    const payer = new ClientJobPayer({ escrow: new EscrowClient({ chain: chain.chain, rpcUrl: chain.rpcUrl, escrow: chain.escrow, token: chain.token, account, pollingIntervalMs: 20 }), maxFeeBps: 1000 });
    const sessions = { paid: await session(paid, key), free: await session(free, key) };
    const ms = { paid: [] as number[], free: [] as number[] };
    for (let i = 0; i < JOBS; i++) {
      for (const kind of ['free', 'paid'] as const) {
        const spec = JobSpec.parse({ jobId: randomUUID(), model: { name: 'stories260K' }, input: { prompt: 'Once upon a time' }, sampling: { maxTokens: MAX_TOKENS }, deadline: Date.now() + 60_000 });
        const started = performance.now();
        const outcome = await runJob(sessions[kind], key, spec, kind === 'paid' ? { payer } : {});
        if (kind === 'paid' && !outcome.payment) throw new Error('the paid aggregator asked no payment');
        ms[kind].push(performance.now() - started);
      }
    }
    console.log(`\n## Paid jobs: end-to-end time with an escrow deposit per job (${JOBS} jobs each, ${MAX_TOKENS} tokens, local chain)\n`);
    console.log('| job | median ms | ratio to free |');
    console.log('| --- | --- | --- |');
    console.log(`| free (aggregator without payments) | ${median(ms.free).toFixed(1)} | 1.00 |`);
    console.log(`| paid (terms checked, approve + deposit mined, deposit read before dispatch) | ${median(ms.paid).toFixed(1)} | ${(median(ms.paid) / median(ms.free)).toFixed(2)} |`);
  });
}

await main();
