// Gives the interface read access to the node's PocketBase as an app (a `users` record, see backend/migrations
// rules.go), never as the superuser: the daemon keeps one local app record and hands out short tokens for it.
import { randomBytes } from 'node:crypto';
import type PocketBase from 'pocketbase';
import { COLLECTIONS, type PaymentRow } from '../storage/index.js';
import type { PocketBaseAccess } from './app-messages.js';
import type { PaymentFigures } from './earnings.js';
import { InfernetError } from '../errors/index.js';

export const LOCAL_APP_EMAIL = 'desktop@apps.infernet.local';
/** Seconds a token handed to the interface lives; it asks for a new one before then. */
export const APP_TOKEN_SECONDS = 3600;
const PAYMENTS_READ_LIMIT = 5000;

export class AppAccessError extends InfernetError {
  override readonly name = 'AppAccessError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('internal', message, options);
  }
}

export class AppPocketBaseAccess {
  private appRecordId?: string;

  constructor(
    readonly url: string,
    private readonly superuser: PocketBase,
  ) {}

  async token(): Promise<PocketBaseAccess> {
    const id = await this.appRecord();
    try {
      const app = await this.superuser.collection(COLLECTIONS.apps).impersonate(id, APP_TOKEN_SECONDS);
      return { url: this.url, token: app.authStore.token, expiresAt: Date.now() + APP_TOKEN_SECONDS * 1000 };
    } catch (error) {
      throw new AppAccessError(`PocketBase at ${this.url} gave no token for the interface: ${(error as Error).message}`, { cause: error });
    }
  }

  /** The payments ledger, for the earnings the dashboard shows (apps may not read it themselves). */
  async payments(): Promise<PaymentFigures[]> {
    const rows = await this.superuser.collection(COLLECTIONS.payments).getList<PaymentRow>(1, PAYMENTS_READ_LIMIT, { fields: 'direction,rail,unit,amount,state' });
    return rows.items;
  }

  /** A line in the node's `logs` collection, which the logs view shows beside the job events. */
  async log(level: 'info' | 'warn', message: string, fields: { jobId?: string; data?: unknown } = {}): Promise<void> {
    await this.superuser.collection(COLLECTIONS.logs).create({ level, source: 'app-gateway', message, jobId: fields.jobId ?? '', data: fields.data ?? null, at: Date.now() });
  }

  private async appRecord(): Promise<string> {
    if (this.appRecordId) return this.appRecordId;
    const apps = this.superuser.collection(COLLECTIONS.apps);
    const existing = await apps.getList(1, 1, { filter: this.superuser.filter('email = {:email}', { email: LOCAL_APP_EMAIL }) });
    if (existing.items[0]) return (this.appRecordId = existing.items[0].id);
    // Nobody logs in with this password: the record exists to be impersonated by the superuser.
    const password = randomBytes(24).toString('base64url');
    const created = await apps.create({ email: LOCAL_APP_EMAIL, password, passwordConfirm: password, name: 'Infernet desktop' });
    return (this.appRecordId = created.id);
  }
}
