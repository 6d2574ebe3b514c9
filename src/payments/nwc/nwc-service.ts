// A NIP-47 wallet service in front of the node's own LND: answers the requests of the connections in the wallet
// file (`infernet wallet connect`), within each one's budget, and ignores, with a logged reason, anything forged,
// unreadable or from a key it does not know.
import { getPublicKey } from 'nostr-tools/pure';
import type { Logger } from '../../log/index.js';
import type { LndRestClient, PaymentUpdate } from '../lightning/lnd-rest-client.js';
import { ChannelCapacityError, LightningRequestError } from '../payment-errors.js';
import { readNwcSection, type NwcConnection } from './nwc-connections.js';
import { buildInfoEvent, buildResponseEvent, errorResponse, NWC_METHODS, NWC_REQUEST_KIND, nowSeconds, openRequest, REQUEST_MAX_AGE_S, type NwcRequest, type NwcResponse } from './nwc-messages.js';
import { NwcRelays } from './nwc-relays.js';
import { NwcSpending } from './nwc-spending.js';

/** What a payment may cost in routing fees; reserved against the budget with the amount. */
const DEFAULT_FEE_LIMIT_SAT = 10;
const DEFAULT_REQUESTS_PER_MINUTE = 60;
/** Request ids remembered in memory against duplicates from several relays (payments are also on disk). */
const SEEN_REQUESTS = 10_000;
/** Asked of the relays from this far back: clients' clocks may run behind (older requests are ignored anyway). */
const SUBSCRIBE_LOOKBACK_S = REQUEST_MAX_AGE_S;
/** LND's payment stream gives up after 2 minutes without news: this many tries cover a hold invoice held an hour. */
const TRACK_ATTEMPTS = 30;
const TRACK_RETRY_MS = 5_000;

export interface NwcServiceOptions {
  /** The service's own key (`ensureServiceKey`), which the connection URIs name. */
  serviceSecret: Uint8Array;
  relays: readonly string[];
  /** The wallet file whose `nwc.connections` say who may do what: read on each request, so revocation is immediate. */
  walletPath: string;
  /** Where what each connection spent is kept (NwcSpending). */
  spendingPath: string;
  lnd: LndRestClient;
  logger: Logger;
  feeLimitSat?: number;
  requestsPerMinute?: number;
}

type Handler = (request: NwcRequest, context: { id: string; connection: NwcConnection }) => Promise<NwcResponse | undefined>;

export class NwcWalletService {
  readonly walletPubkey: string;
  private readonly relays: NwcRelays;
  private readonly seen = new Set<string>();
  private stopped = false;
  private readonly recentRequests = new Map<string, number[]>();
  private readonly handlers: Record<string, Handler> = {
    pay_invoice: (request, context) => this.payInvoice(request, context),
    get_balance: () => this.getBalance(),
    get_info: () => this.getInfo(),
    make_invoice: (request) => this.makeInvoice(request),
    lookup_invoice: (request) => this.lookupInvoice(request),
  };

  private constructor(
    private readonly options: NwcServiceOptions,
    private readonly spending: NwcSpending,
  ) {
    this.walletPubkey = getPublicKey(options.serviceSecret);
    this.relays = new NwcRelays({
      urls: options.relays,
      logger: options.logger,
      filter: { kinds: [NWC_REQUEST_KIND], '#p': [this.walletPubkey], since: nowSeconds() - SUBSCRIBE_LOOKBACK_S },
      onEvent: (event, relay) => void this.receive(event, relay),
      // The info event tells clients what this wallet does and which encryption it reads; relays keep the latest.
      onConnect: (relay) => void this.relays.publish(buildInfoEvent(options.serviceSecret, NWC_METHODS)).catch((error: Error) => options.logger.warn({ relay, err: error.message }, 'NWC: cannot publish the info event')),
    });
  }

  static async start(options: NwcServiceOptions): Promise<NwcWalletService> {
    const service = new NwcWalletService(options, await NwcSpending.open(options.spendingPath));
    await service.relays.start();
    // Clients read the info event as soon as they have a URI: have it on the relays before start returns.
    if (service.relays.connected.length) await service.relays.publish(buildInfoEvent(options.serviceSecret, NWC_METHODS)).catch(() => undefined);
    options.logger.info({ walletPubkey: service.walletPubkey, relays: options.relays, connected: service.relays.connected }, 'NWC wallet service started');
    void service.reconcile().catch((error: Error) => options.logger.warn({ err: error.message }, 'NWC: cannot reconcile the payments of a previous run'));
    return service;
  }

  stop(): void {
    this.stopped = true;
    this.relays.stop();
  }

  /** One event from a relay: opened, checked against the connections, answered. Never throws. */
  async receive(raw: unknown, relay: string): Promise<void> {
    const { logger } = this.options;
    const opened = openRequest(raw, this.options.serviceSecret);
    if (!opened.ok) {
      logger.warn({ relay, reason: opened.reason, event: eventIdOf(raw) }, 'NWC: request ignored');
      if (opened.reply) await this.reply(opened.reply.id, opened.reply.clientPubkey, opened.reply.encryption, opened.reply.response);
      return;
    }
    if (this.seen.has(opened.id)) return;
    this.remember(opened.id);
    const { method } = opened.request;
    let response: NwcResponse | undefined;
    try {
      response = await this.answer(opened.id, opened.clientPubkey, opened.request);
    } catch (error) {
      logger.error({ err: (error as Error).message, name: (error as Error).name, method }, 'NWC: request failed');
      response = errorResponse(method, 'INTERNAL', (error as Error).message);
    }
    if (response) await this.reply(opened.id, opened.clientPubkey, opened.encryption, response);
  }

  private async answer(id: string, clientPubkey: string, request: NwcRequest): Promise<NwcResponse | undefined> {
    const { method } = request;
    const connection = (await readNwcSection(this.options.walletPath))?.connections.find((candidate) => candidate.pubkey === clientPubkey);
    if (!connection) {
      this.options.logger.warn({ client: clientPubkey, method }, 'NWC: request from a key with no connection');
      return errorResponse(method, 'UNAUTHORIZED', 'no wallet is connected for this key');
    }
    if (connection.revokedAt) return errorResponse(method, 'UNAUTHORIZED', `this connection was revoked at ${connection.revokedAt}`);
    if (this.overRate(clientPubkey)) return errorResponse(method, 'RATE_LIMITED', `more than ${this.options.requestsPerMinute ?? DEFAULT_REQUESTS_PER_MINUTE} requests a minute: retry in a few seconds`);
    const handler = this.handlers[method];
    if (!handler) return errorResponse(method, 'NOT_IMPLEMENTED', `this wallet answers ${NWC_METHODS.join(', ')}`);
    return handler(request, { id, connection });
  }

  private async payInvoice(request: NwcRequest, { id, connection }: { id: string; connection: NwcConnection }): Promise<NwcResponse | undefined> {
    const { lnd, logger } = this.options;
    const invoice = request.params.invoice;
    if (typeof invoice !== 'string' || !invoice) return errorResponse('pay_invoice', 'OTHER', 'params.invoice must be a BOLT11 invoice');
    // A request paid before a restart and sent again by a relay is not paid twice (its id is on disk).
    if (this.spending.has(id)) {
      logger.warn({ request: id }, 'NWC: this payment request was handled before; not paying it again');
      return undefined;
    }
    let decoded: { valueSat: bigint; paymentHash: string };
    try {
      decoded = await lnd.decodeInvoice(invoice);
    } catch (error) {
      return errorResponse('pay_invoice', 'OTHER', `cannot decode the invoice: ${(error as Error).message}`);
    }
    const { valueSat, paymentHash } = decoded;
    const feeLimitSat = this.options.feeLimitSat ?? DEFAULT_FEE_LIMIT_SAT;
    const decision = await this.spending.reserve(connection, connection.pubkey, id, Number(valueSat), feeLimitSat, { paymentHash });
    if (!decision.ok) {
      logger.warn({ connection: connection.name, amountSat: Number(valueSat), reason: decision.message }, 'NWC: payment refused');
      return errorResponse('pay_invoice', decision.code, decision.message);
    }
    try {
      const update = await lnd.payInvoice(invoice, { feeLimitSat: BigInt(feeLimitSat) });
      if (update.status !== 'SUCCEEDED') {
        await this.spending.finish(id, 'failed');
        return errorResponse('pay_invoice', 'PAYMENT_FAILED', update.failureReason || `the payment ended ${update.status}`);
      }
      await this.spending.finish(id, { paidSat: Number(valueSat + update.feeSat) });
      logger.info({ connection: connection.name, amountSat: Number(valueSat), feeSat: Number(update.feeSat) }, 'NWC: invoice paid');
      return { result_type: 'pay_invoice', error: null, result: { preimage: update.preimage, fees_paid: Number(update.feeSat) * 1000 } };
    } catch (error) {
      if (error instanceof ChannelCapacityError) {
        await this.spending.finish(id, 'failed');
        return errorResponse('pay_invoice', 'INSUFFICIENT_BALANCE', error.message);
      }
      // The stream broke or timed out (a hold invoice held for long): the payment may still be in flight in LND,
      // so its reservation stays until LND tells how it ended.
      if (!(error instanceof LightningRequestError)) throw error;
      const outcome = await this.resolve({ requestId: id, paymentHash, amountSat: Number(valueSat) });
      if (outcome?.status === 'SUCCEEDED') return { result_type: 'pay_invoice', error: null, result: { preimage: outcome.preimage, fees_paid: Number(outcome.feeSat) * 1000 } };
      return errorResponse('pay_invoice', 'PAYMENT_FAILED', outcome ? outcome.failureReason || 'the payment failed' : `LND: ${error.message} (the outcome is unknown; it stays counted against the budget)`);
    }
  }

  /**
   * Asks LND how a payment whose outcome the service missed ended, and records it: paid, failed (or never sent),
   * or, while LND cannot tell, left reserved. Tries a bounded number of times: a hold invoice can stay in flight long.
   */
  private async resolve(entry: { requestId: string; paymentHash: string; amountSat: number }): Promise<PaymentUpdate | undefined> {
    for (let attempt = 1; attempt <= TRACK_ATTEMPTS && !this.stopped; attempt++) {
      try {
        const update = await this.options.lnd.trackPayment(entry.paymentHash);
        if (update.status === 'SUCCEEDED') await this.spending.finish(entry.requestId, { paidSat: entry.amountSat + Number(update.feeSat) });
        else await this.spending.finish(entry.requestId, 'failed');
        return update;
      } catch (error) {
        if (error instanceof LightningRequestError && /isn't initiated|not found|unknown payment/i.test(error.detail)) {
          await this.spending.finish(entry.requestId, 'failed');
          return { status: 'FAILED', paymentHash: entry.paymentHash, feeSat: 0n, failureReason: 'LND never started this payment', preimage: '' };
        }
        this.options.logger.warn({ paymentHash: entry.paymentHash, attempt, err: (error as Error).message }, 'NWC: cannot learn how a payment ended yet');
        // LND down answers at once: wait before asking again, so the attempts span minutes, not milliseconds.
        await new Promise((resolve) => setTimeout(resolve, TRACK_RETRY_MS).unref());
      }
    }
    return undefined;
  }

  /** After a restart: payments reserved by a previous run whose outcome was never recorded. */
  private async reconcile(): Promise<void> {
    for (const entry of this.spending.unresolved()) {
      const outcome = await this.resolve({ requestId: entry.requestId, paymentHash: entry.paymentHash!, amountSat: entry.amountSat ?? entry.sat });
      this.options.logger.info({ paymentHash: entry.paymentHash, status: outcome?.status ?? 'unknown' }, 'NWC: payment from a previous run reconciled');
    }
  }

  private async getBalance(): Promise<NwcResponse> {
    const { localSat } = await this.options.lnd.channelBalance();
    return { result_type: 'get_balance', error: null, result: { balance: Number(localSat) * 1000 } };
  }

  private async getInfo(): Promise<NwcResponse> {
    const info = await this.options.lnd.getInfo();
    return { result_type: 'get_info', error: null, result: { alias: 'infernet', color: '', pubkey: info.identityPubkey, network: '', block_height: info.blockHeight, block_hash: '', methods: [...NWC_METHODS], notifications: [] } };
  }

  private async makeInvoice(request: NwcRequest): Promise<NwcResponse> {
    const { amount, description, expiry } = request.params;
    if (typeof amount !== 'number' || !Number.isSafeInteger(amount) || amount < 1000) return errorResponse('make_invoice', 'OTHER', 'params.amount must be a whole number of msat, at least 1000 (LND invoices are in whole sat)');
    const memo = typeof description === 'string' ? description : '';
    const sat = BigInt(Math.floor(amount / 1000));
    const { paymentHash, paymentRequest } = await this.options.lnd.addInvoice(sat, memo);
    const createdAt = nowSeconds();
    return {
      result_type: 'make_invoice',
      error: null,
      result: { type: 'incoming', invoice: paymentRequest, description: memo, payment_hash: paymentHash, amount: Number(sat) * 1000, fees_paid: 0, created_at: createdAt, ...(typeof expiry === 'number' ? { expires_at: createdAt + expiry } : {}) },
    };
  }

  private async lookupInvoice(request: NwcRequest): Promise<NwcResponse> {
    const { lnd } = this.options;
    const { payment_hash: hash, invoice } = request.params;
    let paymentHash: string;
    if (typeof hash === 'string' && /^[0-9a-f]{64}$/.test(hash)) paymentHash = hash;
    else if (typeof invoice === 'string') paymentHash = (await lnd.decodeInvoice(invoice).catch(() => ({ paymentHash: '' }))).paymentHash;
    else return errorResponse('lookup_invoice', 'OTHER', 'give params.payment_hash (64 hex characters) or params.invoice');
    if (!paymentHash) return errorResponse('lookup_invoice', 'NOT_FOUND', 'the invoice cannot be decoded');
    try {
      const found = await lnd.lookupInvoice(paymentHash);
      const state = found.state === 'SETTLED' ? 'settled' : found.state === 'CANCELED' ? 'failed' : 'pending';
      return { result_type: 'lookup_invoice', error: null, result: { type: 'incoming', invoice: found.paymentRequest, payment_hash: found.paymentHash, amount: Number(found.valueSat) * 1000, fees_paid: 0, state } };
    } catch (error) {
      if (error instanceof LightningRequestError && (error.status === 404 || /unable to locate/.test(error.detail))) return errorResponse('lookup_invoice', 'NOT_FOUND', `no invoice with payment hash ${paymentHash}`);
      throw error;
    }
  }

  private async reply(requestId: string, clientPubkey: string, encryption: 'nip44_v2' | 'nip04', response: NwcResponse): Promise<void> {
    const event = buildResponseEvent({ serviceSecret: this.options.serviceSecret, clientPubkey, requestId, encryption, response });
    await this.relays.publish(event).catch((error: Error) => this.options.logger.warn({ request: requestId, err: error.message }, 'NWC: cannot publish the response'));
  }

  private remember(id: string): void {
    this.seen.add(id);
    if (this.seen.size > SEEN_REQUESTS) this.seen.delete(this.seen.values().next().value!);
  }

  private overRate(pubkey: string): boolean {
    const now = Date.now();
    const recent = (this.recentRequests.get(pubkey) ?? []).filter((at) => at > now - 60_000);
    recent.push(now);
    this.recentRequests.set(pubkey, recent);
    return recent.length > (this.options.requestsPerMinute ?? DEFAULT_REQUESTS_PER_MINUTE);
  }
}

function eventIdOf(raw: unknown): string | undefined {
  return typeof raw === 'object' && raw !== null && typeof (raw as { id?: unknown }).id === 'string' ? (raw as { id: string }).id : undefined;
}
