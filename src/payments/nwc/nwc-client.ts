// A NIP-47 client: reaches a wallet through the relays of its connection URI, with the URI's secret as its key.
// Requests are kind 23194 events; each answer (23195) is matched to its request by the `e` tag.
import { getPublicKey } from 'nostr-tools/pure';
import { hexToBytes } from 'nostr-tools/utils';
import type { Logger } from '../../log/index.js';
import { silentLogger } from '../../log/index.js';
import { NostrEvent } from '../../protocol/index.js';
import type { LightningInvoicePayer } from '../lightning/invoice-payer.js';
import { nwcWalletError, NwcTimeoutError } from './nwc-errors.js';
import { buildRequestEvent, encryptionFromInfo, NWC_INFO_KIND, NWC_RESPONSE_KIND, nowSeconds, openResponse, REQUEST_MAX_AGE_S, tagValue, type NwcEncryption, type NwcMethod } from './nwc-messages.js';
import { NwcRelays } from './nwc-relays.js';
import { parseNwcUri, type NwcConnectionUri } from './nwc-uri.js';

const DEFAULT_REQUEST_TIMEOUT_MS = 30_000;
/** A payment can take a while to find its route; a hold invoice's longer (see payInvoice). */
const DEFAULT_PAY_TIMEOUT_MS = 120_000;
/** How long payInvoice waits for a refusal or a result before it takes the payment as in flight. */
const DEFAULT_IN_FLIGHT_AFTER_MS = 3_000;

export interface NwcClientOptions {
  logger?: Logger;
  requestTimeoutMs?: number;
  payTimeoutMs?: number;
  inFlightAfterMs?: number;
  /** Skip reading the wallet's info event and use this encryption. */
  encryption?: NwcEncryption;
}

export interface NwcPayment {
  preimage: string;
  feesPaidMsat: bigint;
}

export interface NwcWalletInfo {
  alias: string;
  pubkey: string;
  network: string;
  blockHeight: number;
  methods: string[];
}

export interface NwcTransaction {
  type: 'incoming' | 'outgoing';
  invoice: string;
  paymentHash: string;
  amountMsat: bigint;
  state?: string;
  description?: string;
}

interface Pending {
  method: string;
  resolve: (result: Record<string, unknown>) => void;
  reject: (error: Error) => void;
}

export class NwcClient implements LightningInvoicePayer {
  readonly clientPubkey: string;
  private readonly secret: Uint8Array;
  private readonly pending = new Map<string, Pending>();
  private readonly relays: NwcRelays;
  private readonly logger: Logger;

  private constructor(
    readonly connection: NwcConnectionUri,
    private readonly options: NwcClientOptions,
    public encryption: NwcEncryption,
  ) {
    this.secret = hexToBytes(connection.secret);
    this.clientPubkey = getPublicKey(this.secret);
    this.logger = options.logger ?? silentLogger();
    this.relays = new NwcRelays({
      urls: connection.relays,
      logger: this.logger,
      filter: { kinds: [NWC_RESPONSE_KIND], authors: [connection.walletPubkey], '#p': [this.clientPubkey], since: nowSeconds() - REQUEST_MAX_AGE_S },
      onEvent: (event, relay, valid) => this.receive(event, relay, valid),
    });
  }

  /** Connects to the URI's relays and reads the wallet's info event to choose the encryption. */
  static async connect(uri: string | NwcConnectionUri, options: NwcClientOptions = {}): Promise<NwcClient> {
    const connection = typeof uri === 'string' ? parseNwcUri(uri) : uri;
    const client = new NwcClient(connection, options, options.encryption ?? 'nip04');
    await client.relays.start();
    if (!options.encryption) {
      const infos = await client.relays.query({ kinds: [NWC_INFO_KIND], authors: [connection.walletPubkey], limit: 1 });
      const newest = infos.sort((a, b) => b.created_at - a.created_at)[0];
      client.encryption = encryptionFromInfo(newest);
    }
    return client;
  }

  close(): void {
    this.relays.stop();
    for (const pending of this.pending.values()) pending.reject(new Error(`the NWC client closed before the wallet answered ${pending.method}`));
    this.pending.clear();
  }

  /**
   * Hands the invoice to the wallet and returns once it is under way: when the wallet answers within
   * `inFlightAfterMs` (paid, or refused: then this throws), or else once that time passed with the request on a
   * relay and no refusal, as a hold invoice's payment stays in flight until the payee settles. The outcome of a
   * payment still in flight is logged when it comes; use payInvoiceAndWait to wait for it.
   */
  async payInvoice(bolt11: string): Promise<void> {
    const { published, answered } = this.send('pay_invoice', { invoice: bolt11 }, this.options.payTimeoutMs ?? DEFAULT_PAY_TIMEOUT_MS);
    answered.then(
      () => this.logger.info({ invoice: bolt11.slice(0, 24) }, 'NWC: invoice paid'),
      (error: Error) => this.logger.warn({ invoice: bolt11.slice(0, 24), err: error.message }, 'NWC: payment did not complete'),
    );
    await published;
    let timer: NodeJS.Timeout | undefined;
    const inFlight = new Promise<void>((resolve) => (timer = setTimeout(resolve, this.options.inFlightAfterMs ?? DEFAULT_IN_FLIGHT_AFTER_MS)));
    try {
      await Promise.race([answered.then(() => undefined), inFlight]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Pays and waits for the wallet's final answer: the preimage, or the named error it refused or failed with. */
  async payInvoiceAndWait(bolt11: string, options: { amountMsat?: bigint } = {}): Promise<NwcPayment> {
    const params = { invoice: bolt11, ...(options.amountMsat !== undefined ? { amount: Number(options.amountMsat) } : {}) };
    const { answered } = this.send('pay_invoice', params, this.options.payTimeoutMs ?? DEFAULT_PAY_TIMEOUT_MS);
    const result = await answered;
    return { preimage: String(result.preimage ?? ''), feesPaidMsat: BigInt(Number(result.fees_paid ?? 0)) };
  }

  async getBalance(): Promise<{ balanceMsat: bigint }> {
    const result = await this.request('get_balance', {});
    return { balanceMsat: BigInt(Number(result.balance ?? 0)) };
  }

  async getInfo(): Promise<NwcWalletInfo> {
    const result = await this.request('get_info', {});
    return {
      alias: String(result.alias ?? ''),
      pubkey: String(result.pubkey ?? ''),
      network: String(result.network ?? ''),
      blockHeight: Number(result.block_height ?? 0),
      methods: Array.isArray(result.methods) ? result.methods.map(String) : [],
    };
  }

  async makeInvoice(options: { amountMsat: bigint; description?: string; expirySeconds?: number }): Promise<NwcTransaction> {
    const params = { amount: Number(options.amountMsat), ...(options.description !== undefined ? { description: options.description } : {}), ...(options.expirySeconds !== undefined ? { expiry: options.expirySeconds } : {}) };
    return transactionOf(await this.request('make_invoice', params));
  }

  async lookupInvoice(by: { paymentHash: string } | { invoice: string }): Promise<NwcTransaction> {
    return transactionOf(await this.request('lookup_invoice', 'paymentHash' in by ? { payment_hash: by.paymentHash } : { invoice: by.invoice }));
  }

  private request(method: NwcMethod, params: Record<string, unknown>): Promise<Record<string, unknown>> {
    return this.send(method, params, this.options.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS).answered;
  }

  /** Publishes a request; `published` once a relay took it, `answered` with the result or the wallet's named error. */
  private send(method: NwcMethod, params: Record<string, unknown>, timeoutMs: number): { published: Promise<void>; answered: Promise<Record<string, unknown>> } {
    const event = buildRequestEvent({ clientSecret: this.secret, walletPubkey: this.connection.walletPubkey, encryption: this.encryption, request: { method, params } });
    let timer: NodeJS.Timeout | undefined;
    // The answer is waited for before publishing, so one that comes at once is not missed.
    const answered = new Promise<Record<string, unknown>>((resolve, reject) => {
      this.pending.set(event.id, { method, resolve, reject });
      timer = setTimeout(() => reject(new NwcTimeoutError(method, timeoutMs)), timeoutMs);
    }).finally(() => {
      clearTimeout(timer);
      this.pending.delete(event.id);
    });
    const published = this.relays.publish(event).then(
      () => undefined,
      (error: Error) => {
        this.pending.get(event.id)?.reject(error);
        throw error;
      },
    );
    // Whoever holds only one of the two promises must not leave the other's rejection unhandled.
    answered.catch(() => undefined);
    published.catch(() => undefined);
    return { published, answered };
  }

  private receive(raw: unknown, relay: string, valid: boolean): void {
    const parsed = NostrEvent.safeParse(raw);
    if (!valid || !parsed.success) return void this.logger.warn({ relay }, 'NWC: ignored a response with a bad signature or shape');
    const event = parsed.data;
    const requestId = tagValue(event, 'e');
    const pending = requestId ? this.pending.get(requestId) : undefined;
    if (!pending || event.pubkey !== this.connection.walletPubkey) return;
    const response = openResponse(event, this.secret, this.encryption);
    if (!response) return void this.logger.warn({ relay, request: requestId }, 'NWC: ignored a response that cannot be decrypted');
    if (response.error) return pending.reject(nwcWalletError(response.error.code, response.error.message, pending.method));
    pending.resolve(response.result ?? {});
  }
}

function transactionOf(result: Record<string, unknown>): NwcTransaction {
  return {
    type: result.type === 'outgoing' ? 'outgoing' : 'incoming',
    invoice: String(result.invoice ?? ''),
    paymentHash: String(result.payment_hash ?? ''),
    amountMsat: BigInt(Number(result.amount ?? 0)),
    ...(typeof result.state === 'string' ? { state: result.state } : {}),
    ...(typeof result.description === 'string' ? { description: result.description } : {}),
  };
}
