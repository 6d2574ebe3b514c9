// The optional `payments` section of config.yaml: which chain and escrow, which LND node. Keys are never here:
// they live in the wallet file (`walletFile`, mode 0600, see src/payments/wallet-file.ts).
import { z } from 'zod';

const EvmAddress = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte hex address');
const HttpUrl = z.string().regex(/^https?:\/\/\S+$/, 'must be an http:// or https:// URL');

export const PaymentsConfig = z
  .object({
    /** The node's payment keys, relative to the node home unless absolute. */
    walletFile: z.string().min(1).default('wallet.json'),
    /**
     * An aggregator's fee, in basis points of the provider's pay, asked on top of it in the escrow terms of
     * every job it matches (500 = 5%).
     */
    feeBps: z.number().int().min(0).max(5000).default(500),
    /** The highest aggregator fee this node pays as a client, in basis points of the provider's pay; more is refused. */
    maxFeeBps: z.number().int().min(0).max(5000).default(1000),
    /** A provider's EVM payout address, told to aggregators in its capabilities; defaults to the wallet's address. */
    payoutAddress: EvmAddress.optional(),
    /** Stablecoin escrow (JobEscrow) on Polygon: mainnet (137), Amoy (80002), or a local chain (31337). */
    evm: z
      .object({
        network: z.enum(['polygon', 'amoy', 'local']),
        rpcUrl: HttpUrl,
        /** Checked against the RPC endpoint's answer before any transaction; defaults to the network's. */
        chainId: z.number().int().positive().optional(),
        /** The deployed JobEscrow; `infernet wallet deploy` deploys one and writes its address here. */
        escrow: EvmAddress.optional(),
        /** The ERC-20 (6 decimals); defaults to Circle's USDC on polygon and amoy. */
        token: EvmAddress.optional(),
      })
      .strict()
      .optional(),
    /** An LND node reached over its REST API, for BOLT11 and hold invoices. */
    lightning: z
      .object({
        restUrl: z.string().regex(/^https:\/\/\S+$/, 'must be an https:// URL (LND REST)'),
        /** LND's tls.cert, trusted as the CA of its REST endpoint. */
        tlsCertPath: z.string().min(1),
        /** A macaroon with invoice (and, to pay, offchain) permissions. */
        macaroonPath: z.string().min(1),
      })
      .strict()
      .optional(),
    /** Nostr Wallet Connect (NIP-47): with `lightning`, the daemon serves this node's LND to the apps given a URI by `infernet wallet connect`. */
    nwc: z
      .object({
        relays: z.array(z.string().regex(/^wss?:\/\/\S+$/, 'must be a ws:// or wss:// URL')).min(1),
        /** Routing fees one payment may cost, counted against the connection's budget with the amount. */
        feeLimitSat: z.number().int().nonnegative().default(10),
      })
      .strict()
      .optional(),
  })
  .strict();
export type PaymentsConfig = z.infer<typeof PaymentsConfig>;
