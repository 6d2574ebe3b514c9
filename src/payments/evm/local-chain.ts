// A real local EVM chain (`hardhat node`, chain id 31337) as a child process, with the test stablecoin and the
// escrow deployed and fresh accounts funded on demand. Used by the tests (one chain per suite) and the bench;
// hardhat is a dev dependency, so nothing here is reached by a deployed node.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { createPublicClient, createWalletClient, http, numberToHex, type Account, type Chain, type PublicClient, type Transport } from 'viem';
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts';
import { testTokenAbi } from './contract-artifacts.js';
import { REPO_ROOT } from './compile-contracts.js';
import { deployJobEscrow, deployTestToken } from './deploy-contracts.js';
import { chainFor } from './evm-networks.js';
import { freeLoopbackPort, stopChildProcess } from '../../processes/index.js';
import { InfernetError } from '../../errors/index.js';

const START_TIMEOUT_MS = 60_000;

export interface LocalChain {
  readonly rpcUrl: string;
  readonly chain: Chain;
  readonly token: `0x${string}`;
  readonly escrow: `0x${string}`;
  readonly reader: PublicClient<Transport, Chain>;
  /** A fresh account with 10 ETH for gas and `tokens` micro-units of the test stablecoin. */
  newAccount(tokens?: bigint): Promise<{ account: Account; privateKey: `0x${string}` }>;
  mintTokens(to: `0x${string}`, amount: bigint): Promise<void>;
  /** Moves the chain's clock forward and mines a block. */
  increaseTime(seconds: number): Promise<void>;
  /** Off: transactions wait in the mempool until mine() (to stop a daemon between sending and mining). */
  setAutomine(on: boolean): Promise<void>;
  mine(): Promise<void>;
  stop(): Promise<void>;
}

export class LocalChainStartError extends InfernetError {
  override readonly name = 'LocalChainStartError';
  constructor(message: string, readonly output: string) {
    super('internal', `${message}; hardhat said: ${output.slice(-1000)}`);
  }
}

export async function startLocalChain(): Promise<LocalChain> {
  const port = await freeLoopbackPort();
  const child = spawn(join(REPO_ROOT, 'node_modules', '.bin', 'hardhat'), ['--config', join(REPO_ROOT, 'contracts', 'hardhat.config.cjs'), 'node', '--hostname', '127.0.0.1', '--port', String(port)], {
    cwd: join(REPO_ROOT, 'contracts'),
    env: { ...process.env, HARDHAT_DISABLE_TELEMETRY_PROMPT: 'true' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const rpcUrl = `http://127.0.0.1:${port}`;
  try {
    await waitForRpc(child, rpcUrl);
    return await deployOnto(child, rpcUrl);
  } catch (error) {
    await stopChildProcess(child);
    throw error;
  }
}

async function deployOnto(child: ChildProcess, rpcUrl: string): Promise<LocalChain> {
  const chain = chainFor('local', rpcUrl);
  const reader = createPublicClient({ chain, transport: http(rpcUrl), pollingInterval: 50 });
  const rpc = (method: string, params: unknown[]) => reader.request({ method: method as 'eth_chainId', params: params as never });
  const fund = async (address: `0x${string}`) => void (await rpc('hardhat_setBalance', [address, numberToHex(10n ** 19n)]));
  const deployerKey = generatePrivateKey();
  const deployer = createWalletClient({ chain, transport: http(rpcUrl), account: privateKeyToAccount(deployerKey), pollingInterval: 50 });
  await fund(deployer.account.address);
  const token = await deployTestToken(deployer, reader);
  const escrow = await deployJobEscrow(deployer, reader, token);
  const mintTokens = async (to: `0x${string}`, amount: bigint) => {
    const hash = await deployer.writeContract({ address: token, abi: testTokenAbi, functionName: 'mint', args: [to, amount] });
    await reader.waitForTransactionReceipt({ hash });
  };
  return {
    rpcUrl,
    chain,
    token,
    escrow,
    reader,
    async newAccount(tokens = 0n) {
      const privateKey = generatePrivateKey();
      const account = privateKeyToAccount(privateKey);
      await fund(account.address);
      if (tokens > 0n) await mintTokens(account.address, tokens);
      return { account, privateKey };
    },
    mintTokens,
    async increaseTime(seconds) {
      await rpc('evm_increaseTime', [seconds]);
      await rpc('evm_mine', []);
    },
    async setAutomine(on) {
      await rpc('evm_setAutomine', [on]);
    },
    async mine() {
      await rpc('evm_mine', []);
    },
    stop: () => stopChildProcess(child),
  };
}

async function waitForRpc(child: ChildProcess, rpcUrl: string): Promise<void> {
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const deadline = Date.now() + START_TIMEOUT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new LocalChainStartError(`hardhat node exited with ${child.exitCode}`, output);
    const answered = await fetch(rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
    }).then((response) => response.ok, () => false);
    if (answered) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new LocalChainStartError(`hardhat node did not answer on ${rpcUrl} within ${START_TIMEOUT_MS} ms`, output);
}


