// `infernet wallet connect`: hands a phone or desktop wallet app a Nostr Wallet Connect URI to this node's LND,
// with a fresh secret and its own budget; lists and revokes such connections. The running daemon reads the
// connections on every request, so a new or revoked one counts at once.
import { parseArgs } from 'node:util';
import { walletFilePath } from '../../payments/wallet-file.js';
import { createConnection, DEFAULT_MAX_DAILY_SAT, DEFAULT_MAX_PAYMENT_SAT, NwcStateError, NwcUriError, readNwcSection, revokeConnection, setPayWith } from '../../payments/nwc/index.js';
import { EXIT_CODES } from '../../errors/index.js';
import { CliError } from '../cli-error.js';
import { openNode } from '../open-node.js';

export const WALLET_CONNECT_USAGE = `infernet wallet connect --home DIR [--json] [--name NAME] [--max-payment-sat N] [--max-daily-sat N]
                                               (prints a new NWC URI with a fresh secret; default budget ${DEFAULT_MAX_PAYMENT_SAT} sat a payment, ${DEFAULT_MAX_DAILY_SAT} sat a day)
infernet wallet connect --home DIR --revoke PUBKEY [--json]
infernet wallet connect --home DIR --list [--json]
infernet wallet connect --home DIR --pay-with URI|off [--json]
                                               (pays job invoices through that NWC wallet instead of this node's LND)`;

export async function walletConnectCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: { home: { type: 'string' }, json: { type: 'boolean' }, name: { type: 'string' }, 'max-payment-sat': { type: 'string' }, 'max-daily-sat': { type: 'string' }, revoke: { type: 'string' }, list: { type: 'boolean' }, 'pay-with': { type: 'string' } },
  });
  const node = await openNode(values.home);
  const walletPath = walletFilePath(node.home, node.config);
  const json = Boolean(values.json);
  try {
    if (values.revoke !== undefined) {
      const revoked = await revokeConnection(walletPath, values.revoke);
      return print({ pubkey: revoked.pubkey, name: revoked.name, revokedAt: revoked.revokedAt }, json, (result) => console.log(`revoked ${result.name} (${result.pubkey}) at ${result.revokedAt}`));
    }
    if (values['pay-with'] !== undefined) {
      const off = values['pay-with'] === 'off';
      const wallet = await setPayWith(walletPath, off ? undefined : values['pay-with']);
      const result = wallet ? { payWith: { walletPubkey: wallet.walletPubkey, relays: wallet.relays } } : { payWith: null };
      return print(result, json, () => console.log(wallet ? `job invoices are paid through the NWC wallet ${wallet.walletPubkey} (${wallet.relays.join(', ')})` : 'job invoices are paid through this node\'s LND again'));
    }
    if (values.list) {
      const connections = (await readNwcSection(walletPath))?.connections ?? [];
      return print(connections, json, (list) => {
        if (!list.length) return console.log('no NWC connections');
        for (const c of list) console.log(`${c.pubkey}  ${c.name}  ${c.maxPaymentSat} sat/payment  ${c.maxDailySat} sat/day  ${c.revokedAt ? `revoked ${c.revokedAt}` : 'active'}`);
      });
    }
    const payments = node.config.payments;
    if (!payments?.nwc) throw new CliError(`${node.home.configFile} has no payments.nwc section: add payments.nwc.relays (the relays the wallet service listens on)`);
    if (!payments.lightning) throw new CliError(`${node.home.configFile} has no payments.lightning section: NWC serves this node's LND, so configure it first`);
    const created = await createConnection(walletPath, {
      relays: payments.nwc.relays,
      ...(values.name !== undefined ? { name: values.name } : {}),
      ...(values['max-payment-sat'] !== undefined ? { maxPaymentSat: satFlag('--max-payment-sat', values['max-payment-sat']) } : {}),
      ...(values['max-daily-sat'] !== undefined ? { maxDailySat: satFlag('--max-daily-sat', values['max-daily-sat']) } : {}),
    });
    return print({ ...created, walletFile: walletPath }, json, (result) => {
      console.log(`new NWC connection ${result.name} (${result.pubkey}): ${result.maxPaymentSat} sat a payment, ${result.maxDailySat} sat a day`);
      console.log('give this URI to the wallet app (shown once; it holds the connection secret):');
      console.log(result.uri);
    });
  } catch (error) {
    if (error instanceof NwcStateError || error instanceof NwcUriError) throw new CliError(error.message);
    throw error;
  }
}

function satFlag(flag: string, text: string): number {
  const value = Number(text);
  if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value < 1) throw new CliError(`${flag} must be a whole number of satoshis, at least 1, got "${text}"`, EXIT_CODES.usage);
  return value;
}

function print<T>(value: T, json: boolean, human: (value: T) => void): void {
  if (json) console.log(JSON.stringify(value, null, 2));
  else human(value);
}
