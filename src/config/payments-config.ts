// The optional `payments` section of config.yaml: which chain and escrow, which LND node. Keys are never here:
// they live in the wallet file (`walletFile`, mode 0600, see src/payments/wallet-file.ts).
import { z } from 'zod';

const EvmAddress = z.string().regex(/^0x[0-9a-fA-F]{40}$/, 'must be a 0x-prefixed 20-byte hex address');
const HttpUrl = z.string().regex(/^https?:\/\/\S+$/, 'must be an http:// or https:// URL');

export const PaymentsConfig = z
  .object({
    /** The node's payment keys, relative to the node home unless absolute. */
    walletFile: z.string().min(1).default('wallet.json'),
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
  })
  .strict();
export type PaymentsConfig = z.infer<typeof PaymentsConfig>;
