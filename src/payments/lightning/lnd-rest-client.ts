// LND's REST API (v0.21): invoices, hold invoices, payments, balances and channels. TLS is verified against
// the node's own tls.cert; the macaroon goes in a header. Byte fields are base64 in JSON bodies; hashes in URL
// paths are hex (v1) here.
import { readFile } from 'node:fs/promises';
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { ChannelCapacityError, LightningRequestError } from '../payment-errors.js';

const REQUEST_TIMEOUT_MS = 30_000;
/** A payment stream that says nothing for this long is abandoned (the payment itself goes on in LND). */
const PAYMENT_STREAM_TIMEOUT_MS = 120_000;

export type InvoiceState = 'OPEN' | 'SETTLED' | 'CANCELED' | 'ACCEPTED';
export type PaymentStatus = 'UNKNOWN' | 'IN_FLIGHT' | 'SUCCEEDED' | 'FAILED' | 'INITIATED';

export interface Invoice {
  paymentHash: string;
  state: InvoiceState;
  valueSat: bigint;
  amountPaidSat: bigint;
  paymentRequest: string;
}

export interface PaymentUpdate {
  status: PaymentStatus;
  paymentHash: string;
  feeSat: bigint;
  failureReason: string;
  preimage: string;
}

export interface LndConnection {
  restUrl: string;
  /** PEM of LND's tls.cert. */
  tlsCert: string;
  macaroonHex: string;
}

export async function lndConnectionFromFiles(restUrl: string, tlsCertPath: string, macaroonPath: string): Promise<LndConnection> {
  const [tlsCert, macaroon] = await Promise.all([readFile(tlsCertPath, 'utf8'), readFile(macaroonPath)]);
  return { restUrl: restUrl.replace(/\/$/, ''), tlsCert, macaroonHex: macaroon.toString('hex') };
}

const b64 = (hex: string) => Buffer.from(hex, 'hex').toString('base64');
const hexOf = (base64: string | undefined) => Buffer.from(base64 ?? '', 'base64').toString('hex');

export class LndRestClient {
  constructor(readonly connection: LndConnection) {}

  async getInfo(): Promise<{ identityPubkey: string; syncedToChain: boolean; blockHeight: number; activeChannels: number }> {
    const info = await this.call<{ identity_pubkey: string; synced_to_chain: boolean; block_height: number; num_active_channels?: number }>('GET', '/v1/getinfo', 'read its info');
    return { identityPubkey: info.identity_pubkey, syncedToChain: info.synced_to_chain, blockHeight: info.block_height, activeChannels: info.num_active_channels ?? 0 };
  }

  async newAddress(): Promise<string> {
    return (await this.call<{ address: string }>('GET', '/v1/newaddress?type=WITNESS_PUBKEY_HASH', 'make an address')).address;
  }

  async walletBalance(): Promise<{ confirmedSat: bigint; unconfirmedSat: bigint }> {
    const balance = await this.call<{ confirmed_balance?: string; unconfirmed_balance?: string }>('GET', '/v1/balance/blockchain', 'read the wallet balance');
    return { confirmedSat: BigInt(balance.confirmed_balance ?? '0'), unconfirmedSat: BigInt(balance.unconfirmed_balance ?? '0') };
  }

  async channelBalance(): Promise<{ localSat: bigint; remoteSat: bigint; pendingOpenLocalSat: bigint }> {
    const balance = await this.call<{ local_balance?: { sat?: string }; remote_balance?: { sat?: string }; pending_open_local_balance?: { sat?: string } }>('GET', '/v1/balance/channels', 'read the channel balance');
    return {
      localSat: BigInt(balance.local_balance?.sat ?? '0'),
      remoteSat: BigInt(balance.remote_balance?.sat ?? '0'),
      pendingOpenLocalSat: BigInt(balance.pending_open_local_balance?.sat ?? '0'),
    };
  }

  async connectPeer(pubkey: string, host: string): Promise<void> {
    await this.call('POST', '/v1/peers', 'connect to a peer', { addr: { pubkey, host }, perm: false }).catch((error: LightningRequestError) => {
      if (!/already connected/.test(error.detail)) throw error;
    });
  }

  async openChannel(pubkey: string, localFundingSat: bigint): Promise<void> {
    await this.call('POST', '/v1/channels', 'open a channel', { node_pubkey: b64(pubkey), local_funding_amount: localFundingSat.toString(), spend_unconfirmed: true });
  }

  async activeChannels(): Promise<{ remotePubkey: string; capacitySat: bigint; localSat: bigint; remoteSat: bigint }[]> {
    const list = await this.call<{ channels?: { remote_pubkey: string; capacity: string; local_balance: string; remote_balance: string; active: boolean }[] }>('GET', '/v1/channels?active_only=true', 'list channels');
    return (list.channels ?? []).map((channel) => ({ remotePubkey: channel.remote_pubkey, capacitySat: BigInt(channel.capacity), localSat: BigInt(channel.local_balance ?? '0'), remoteSat: BigInt(channel.remote_balance ?? '0') }));
  }

  async addInvoice(valueSat: bigint, memo: string): Promise<{ paymentHash: string; paymentRequest: string }> {
    const invoice = await this.call<{ r_hash: string; payment_request: string }>('POST', '/v1/invoices', 'create an invoice', { value: valueSat.toString(), memo });
    return { paymentHash: hexOf(invoice.r_hash), paymentRequest: invoice.payment_request };
  }

  /** A hold invoice: paid funds stay ACCEPTED (locked in the HTLC) until settleInvoice or cancelInvoice. */
  async addHoldInvoice(paymentHash: string, valueSat: bigint, memo: string, expirySeconds = 3600): Promise<{ paymentRequest: string }> {
    const invoice = await this.call<{ payment_request: string }>('POST', '/v2/invoices/hodl', 'create a hold invoice', { hash: b64(paymentHash), value: valueSat.toString(), memo, expiry: String(expirySeconds) });
    return { paymentRequest: invoice.payment_request };
  }

  async lookupInvoice(paymentHash: string): Promise<Invoice> {
    const invoice = await this.call<{ r_hash: string; state: InvoiceState; value?: string; amt_paid_sat?: string; payment_request: string }>('GET', `/v1/invoice/${paymentHash}`, `look up invoice ${paymentHash}`);
    return { paymentHash: hexOf(invoice.r_hash), state: invoice.state, valueSat: BigInt(invoice.value ?? '0'), amountPaidSat: BigInt(invoice.amt_paid_sat ?? '0'), paymentRequest: invoice.payment_request };
  }

  async settleInvoice(preimage: string): Promise<void> {
    await this.call('POST', '/v2/invoices/settle', 'settle a hold invoice', { preimage: b64(preimage) });
  }

  async cancelInvoice(paymentHash: string): Promise<void> {
    await this.call('POST', '/v2/invoices/cancel', 'cancel a hold invoice', { payment_hash: b64(paymentHash) });
  }

  async decodeInvoice(paymentRequest: string): Promise<{ paymentHash: string; valueSat: bigint; destination: string }> {
    const decoded = await this.call<{ payment_hash: string; num_satoshis?: string; destination: string }>('GET', `/v1/payreq/${paymentRequest}`, 'decode an invoice');
    return { paymentHash: decoded.payment_hash, valueSat: BigInt(decoded.num_satoshis ?? '0'), destination: decoded.destination };
  }

  /**
   * Pays a BOLT11 invoice through the router. Resolves at the first update `until` accepts (IN_FLIGHT is where a
   * hold invoice's payment stays until the payee settles) or at the final one; a failure for want of capacity
   * is a ChannelCapacityError. Checks the local outbound balance first, so that case is named before sending.
   */
  async payInvoice(paymentRequest: string, options: { until?: (update: PaymentUpdate) => boolean; feeLimitSat?: bigint; timeoutSeconds?: number } = {}): Promise<PaymentUpdate> {
    const { valueSat } = await this.decodeInvoice(paymentRequest);
    const channels = await this.activeChannels();
    const outbound = channels.reduce((most, channel) => (channel.localSat > most ? channel.localSat : most), 0n);
    if (outbound < valueSat) throw new ChannelCapacityError(valueSat, `the largest local balance of an active channel is ${outbound} sat`);
    const body = { payment_request: paymentRequest, timeout_seconds: options.timeoutSeconds ?? 60, fee_limit_sat: (options.feeLimitSat ?? 10n).toString(), no_inflight_updates: false };
    const done = (update: PaymentUpdate) => update.status === 'SUCCEEDED' || update.status === 'FAILED' || (options.until?.(update) ?? false);
    const update = await this.stream('/v2/router/send', body, done);
    if (update.status === 'FAILED' && /INSUFFICIENT_BALANCE|NO_ROUTE/.test(update.failureReason)) throw new ChannelCapacityError(valueSat, update.failureReason);
    return update;
  }

  /** Waits for the final state of a payment this node sent (e.g. a hold invoice's, after the payee settled). */
  async trackPayment(paymentHash: string): Promise<PaymentUpdate> {
    return this.stream(`/v2/router/track/${Buffer.from(paymentHash, 'hex').toString('base64url')}=`, undefined, (update) => update.status === 'SUCCEEDED' || update.status === 'FAILED');
  }

  private call<T = unknown>(method: 'GET' | 'POST', path: string, operation: string, body?: unknown): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const req = this.open(method, path, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) return resolve((text ? JSON.parse(text) : {}) as T);
          reject(new LightningRequestError(operation, status, errorDetail(text)));
        });
      });
      req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer in ${REQUEST_TIMEOUT_MS} ms`)));
      req.on('error', (error) => reject(new LightningRequestError(operation, 0, error.message, { cause: error })));
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  /** A streaming endpoint: one JSON object per line, `{result}` or `{error}`; resolves at the first `done` update. */
  private stream(path: string, body: unknown, done: (update: PaymentUpdate) => boolean): Promise<PaymentUpdate> {
    const operation = `pay (${path})`;
    return new Promise<PaymentUpdate>((resolve, reject) => {
      let buffered = '';
      let last: PaymentUpdate | undefined;
      const req = this.open(body === undefined ? 'GET' : 'POST', path, (res) => {
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          buffered += chunk;
          for (let newline = buffered.indexOf('\n'); newline >= 0; newline = buffered.indexOf('\n')) {
            const line = buffered.slice(0, newline).trim();
            buffered = buffered.slice(newline + 1);
            if (!line) continue;
            const message = JSON.parse(line) as { result?: RawPayment; error?: { message?: string } };
            if (message.error) {
              req.destroy();
              return reject(new LightningRequestError(operation, res.statusCode ?? 500, message.error.message ?? JSON.stringify(message.error)));
            }
            if (!message.result) continue;
            last = toPaymentUpdate(message.result);
            if (done(last)) {
              req.destroy();
              return resolve(last);
            }
          }
        });
        res.on('end', () => (last ? resolve(last) : reject(new LightningRequestError(operation, res.statusCode ?? 0, errorDetail(buffered)))));
      });
      req.setTimeout(PAYMENT_STREAM_TIMEOUT_MS, () => req.destroy(new Error(`no payment update in ${PAYMENT_STREAM_TIMEOUT_MS} ms`)));
      req.on('error', (error) => {
        if (!req.destroyed || !last || !done(last)) reject(new LightningRequestError(operation, 0, error.message, { cause: error }));
      });
      req.end(body === undefined ? undefined : JSON.stringify(body));
    });
  }

  private open(method: 'GET' | 'POST', path: string, onResponse: (res: IncomingMessage) => void) {
    const url = new URL(this.connection.restUrl + path);
    return httpsRequest(url, { method, ca: this.connection.tlsCert, headers: { 'Grpc-Metadata-macaroon': this.connection.macaroonHex, 'content-type': 'application/json' } }, onResponse);
  }
}

interface RawPayment {
  status: PaymentStatus;
  payment_hash: string;
  fee_sat?: string;
  failure_reason?: string;
  payment_preimage?: string;
}

function toPaymentUpdate(raw: RawPayment): PaymentUpdate {
  return { status: raw.status, paymentHash: raw.payment_hash, feeSat: BigInt(raw.fee_sat ?? '0'), failureReason: raw.failure_reason ?? '', preimage: raw.payment_preimage ?? '' };
}

function errorDetail(text: string): string {
  try {
    const parsed = JSON.parse(text) as { message?: string; error?: string | { message?: string } };
    return parsed.message ?? (typeof parsed.error === 'string' ? parsed.error : parsed.error?.message) ?? text;
  } catch {
    return text.slice(0, 300);
  }
}
