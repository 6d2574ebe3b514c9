// The chains the escrow runs on and the stablecoin on each. Addresses of contracts we deploy (the escrow) come
// from the config; the token defaults to Circle's native USDC there.
import { defineChain, type Chain } from 'viem';
import { hardhat, polygon, polygonAmoy } from 'viem/chains';

export type EvmNetworkName = 'polygon' | 'amoy' | 'local';

export interface EvmNetwork {
  name: EvmNetworkName;
  chainId: number;
  /** Circle's USDC (6 decimals) on the chain; none for a local chain, where a TestToken is deployed. */
  defaultToken?: `0x${string}`;
  viemChain: Chain;
}

export const EVM_NETWORKS: Readonly<Record<EvmNetworkName, EvmNetwork>> = {
  polygon: { name: 'polygon', chainId: 137, defaultToken: '0x3c499c542cEF5E3811e1192ce70d8cC03d5c3359', viemChain: polygon },
  amoy: { name: 'amoy', chainId: 80002, defaultToken: '0x41E94Eb019C0762f9Bfcf9Fb1E58725BfB0e7582', viemChain: polygonAmoy },
  local: { name: 'local', chainId: 31337, viemChain: hardhat },
};

/** The viem chain for a network, with the RPC URL the config names. */
export function chainFor(network: EvmNetworkName, rpcUrl: string): Chain {
  const base = EVM_NETWORKS[network].viemChain;
  return defineChain({ ...base, rpcUrls: { default: { http: [rpcUrl] } } });
}
