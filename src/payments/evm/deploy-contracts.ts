// Deploys the escrow (and, on a local chain, a test stablecoin) from the committed artifacts.
import type { Account, Chain, PublicClient, Transport, WalletClient } from 'viem';
import { jobEscrowAbi, jobEscrowBytecode, testTokenAbi, testTokenBytecode } from './contract-artifacts.js';
import { InfernetError } from '../../errors/index.js';

export class DeploymentFailedError extends InfernetError {
  override readonly name = 'DeploymentFailedError';
  constructor(readonly contract: string, readonly hash: string) {
    super('internal', `deploying ${contract} failed (transaction ${hash} has no contract address)`);
  }
}

type Deployer = WalletClient<Transport, Chain, Account>;

export async function deployTestToken(wallet: Deployer, reader: PublicClient<Transport, Chain>, symbol = 'tUSDC'): Promise<`0x${string}`> {
  const hash = await wallet.deployContract({ abi: testTokenAbi, bytecode: testTokenBytecode, args: ['Test USD Coin', symbol] });
  return contractAddress(reader, hash, 'TestToken');
}

export async function deployJobEscrow(wallet: Deployer, reader: PublicClient<Transport, Chain>, token: `0x${string}`): Promise<`0x${string}`> {
  const hash = await wallet.deployContract({ abi: jobEscrowAbi, bytecode: jobEscrowBytecode, args: [token] });
  return contractAddress(reader, hash, 'JobEscrow');
}

async function contractAddress(reader: PublicClient<Transport, Chain>, hash: `0x${string}`, contract: string): Promise<`0x${string}`> {
  const receipt = await reader.waitForTransactionReceipt({ hash });
  if (!receipt.contractAddress) throw new DeploymentFailedError(contract, hash);
  return receipt.contractAddress;
}
