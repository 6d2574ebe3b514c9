// The node's payment keys, in a file of their own beside node.key (mode 0600), never in config.yaml or code.
// {"evm": {"privateKey": "0x..."}}; `infernet wallet init` writes a fresh one.
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { generatePrivateKey, privateKeyToAccount, type PrivateKeyAccount } from 'viem/accounts';
import { z } from 'zod';
import type { NodeConfig, NodeHome } from '../config/index.js';
import { WalletConfigError } from './payment-errors.js';

const WalletFileSchema = z
  .object({
    evm: z.object({ privateKey: z.string().regex(/^0x[0-9a-fA-F]{64}$/, 'must be a 0x-prefixed 32-byte hex key') }).strict().optional(),
    /** Nostr Wallet Connect's service key and connections: read and validated by src/payments/nwc. */
    nwc: z.unknown().optional(),
  })
  .strict();
export type WalletFile = z.infer<typeof WalletFileSchema>;

export interface Wallet {
  readonly path: string;
  /** The account that deposits (client) or releases and refunds (aggregator); absent without an EVM key. */
  readonly evm?: PrivateKeyAccount;
}

export function walletFilePath(home: NodeHome, config: NodeConfig): string {
  const file = config.payments?.walletFile ?? 'wallet.json';
  return isAbsolute(file) ? file : join(home.dir, file);
}

export async function loadWallet(path: string): Promise<Wallet> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    if ((cause as NodeJS.ErrnoException).code === 'ENOENT') return { path };
    throw new WalletConfigError(`cannot read the wallet file ${path}`, { cause });
  }
  const mode = (await stat(path)).mode & 0o077;
  if (mode) throw new WalletConfigError(`${path} is readable by other users (mode ${(mode | 0o600).toString(8)}): chmod 600 ${path}`);
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    throw new WalletConfigError(`${path}: not valid JSON`, { cause });
  }
  const parsed = WalletFileSchema.safeParse(data);
  if (!parsed.success) throw new WalletConfigError(`${path}: ${parsed.error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ')}`);
  return { path, ...(parsed.data.evm ? { evm: privateKeyToAccount(parsed.data.evm.privateKey as `0x${string}`) } : {}) };
}

/** Writes a wallet file with a fresh EVM key unless one exists; returns the wallet either way. */
export async function initWallet(path: string, privateKey?: `0x${string}`): Promise<{ wallet: Wallet; created: boolean }> {
  const existing = await loadWallet(path);
  if (existing.evm) return { wallet: existing, created: false };
  // Keeps the file's other sections (nwc connections) when it adds the key.
  const others = await readFile(path, 'utf8').then((text) => JSON.parse(text) as WalletFile, () => ({}));
  const file: WalletFile = { ...others, evm: { privateKey: privateKey ?? generatePrivateKey() } };
  await writeFile(path, JSON.stringify(file, null, 2) + '\n', { mode: 0o600, flag: 'w' });
  await chmod(path, 0o600);
  return { wallet: await loadWallet(path), created: true };
}
