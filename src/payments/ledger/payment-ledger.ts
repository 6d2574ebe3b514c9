// The node's payment ledger in its PocketBase (`payments`, superuser only): one row per job, role and rail,
// enforced by a unique index (migration 1751000004), so recording a payment twice finds the first row. A row
// carries the settlement decision once made; settlement acts only after that write (see settlement-service.ts).
import type PocketBase from 'pocketbase';
import { ClientResponseError } from 'pocketbase';
import type { JobRole } from '../../jobs/job-record.js';
import { COLLECTIONS, type PaymentDirection, type PaymentState } from '../../storage/collections.js';
import { InfernetError } from '../../errors/index.js';

export type PaymentRail = 'evm' | 'lightning';
export type PaymentUnit = 'micro-usdc' | 'sat';
export type SettlementAction = 'release' | 'refund';

export const FINAL_PAYMENT_STATES: readonly PaymentState[] = ['released', 'refunded', 'failed'];

export interface Payment {
  id: string;
  jobId: string;
  role: JobRole;
  direction: PaymentDirection;
  rail: PaymentRail;
  /** In `unit`, the rail's smallest unit. */
  amount: bigint;
  unit: PaymentUnit;
  state: PaymentState;
  /** Settlement transaction hash, or the invoice's payment hash. */
  reference: string;
  /** Hex Nostr key of the other side. */
  counterparty: string;
  details: Record<string, unknown>;
  decision?: SettlementAction;
  decidedAt?: number;
  createdAt: number;
  updatedAt: number;
}

export type NewPayment = Omit<Payment, 'id' | 'createdAt' | 'updatedAt' | 'decision' | 'decidedAt' | 'reference' | 'details'> & {
  reference?: string;
  details?: Record<string, unknown>;
};

export interface PaymentFilter {
  jobId?: string;
  states?: readonly PaymentState[];
  /** Newest first, at most this many (default 200). */
  limit?: number;
}

interface PaymentRecordRow {
  id: string;
  jobId: string;
  role: JobRole;
  direction: PaymentDirection;
  rail: PaymentRail;
  amount: number;
  unit: PaymentUnit;
  state: PaymentState;
  reference: string;
  counterparty: string;
  details: Record<string, unknown> | null;
  decision: SettlementAction | '';
  decidedAt: number;
  createdAt: number;
  updatedAt: number;
}

export class PaymentLedgerError extends InfernetError {
  override readonly name = 'PaymentLedgerError';
  constructor(readonly operation: string, options?: ErrorOptions) {
    super('internal', `the payment ledger could not ${operation}${options?.cause instanceof Error ? `: ${options.cause.message}` : ''}`, options);
  }
}

export class PaymentLedger {
  constructor(private readonly pb: PocketBase) {}

  /** Records a payment, or returns the row already recorded for its job, role and rail. */
  async record(payment: NewPayment): Promise<Payment> {
    if (payment.amount > BigInt(Number.MAX_SAFE_INTEGER) || payment.amount < 0n) throw new RangeError(`amount ${payment.amount} is out of the ledger's range`);
    const now = Date.now();
    try {
      const row = await this.pb.collection(COLLECTIONS.payments).create<PaymentRecordRow>({
        ...payment,
        amount: Number(payment.amount),
        reference: payment.reference ?? '',
        details: payment.details ?? {},
        decision: '',
        decidedAt: 0,
        createdAt: now,
        updatedAt: now,
      });
      return toPayment(row);
    } catch (error) {
      if (isUniqueViolation(error)) {
        const existing = await this.find(payment.jobId, payment.role, payment.rail);
        if (existing) return existing;
      }
      throw new PaymentLedgerError(`record the payment for job ${payment.jobId}`, { cause: error });
    }
  }

  async find(jobId: string, role: JobRole, rail: PaymentRail): Promise<Payment | undefined> {
    const rows = await this.pb
      .collection(COLLECTIONS.payments)
      .getList<PaymentRecordRow>(1, 1, { filter: this.pb.filter('jobId = {:jobId} && role = {:role} && rail = {:rail}', { jobId, role, rail }) })
      .catch((error: unknown) => {
        throw new PaymentLedgerError(`read the payment for job ${jobId}`, { cause: error });
      });
    return rows.items[0] ? toPayment(rows.items[0]) : undefined;
  }

  /** Writes the decision unless one is there already: the first decision stands, and is returned. */
  async decide(payment: Payment, decision: SettlementAction): Promise<Payment> {
    if (payment.decision) return payment;
    return this.update(payment, { decision, decidedAt: Date.now() }, `record the ${decision} decision for job ${payment.jobId}`);
  }

  async updateState(payment: Payment, state: PaymentState, patch: { reference?: string; details?: Record<string, unknown> } = {}): Promise<Payment> {
    const details = patch.details ? { ...payment.details, ...patch.details } : undefined;
    return this.update(payment, { state, ...(patch.reference !== undefined ? { reference: patch.reference } : {}), ...(details ? { details } : {}) }, `mark job ${payment.jobId}'s payment ${state}`);
  }

  async list(filter: PaymentFilter = {}): Promise<Payment[]> {
    const clauses: string[] = [];
    if (filter.jobId) clauses.push(this.pb.filter('jobId = {:jobId}', { jobId: filter.jobId }));
    if (filter.states?.length) clauses.push(`(${filter.states.map((state) => this.pb.filter('state = {:state}', { state })).join(' || ')})`);
    const rows = await this.pb
      .collection(COLLECTIONS.payments)
      .getList<PaymentRecordRow>(1, Math.min(filter.limit ?? 200, 1000), { filter: clauses.join(' && '), sort: '-createdAt' })
      .catch((error: unknown) => {
        throw new PaymentLedgerError('list payments', { cause: error });
      });
    return rows.items.map(toPayment);
  }

  /** Payments with a decision not yet carried out: what a restarted node must finish. */
  async undone(): Promise<Payment[]> {
    const open = await this.list({ states: ['pending', 'held'], limit: 1000 });
    return open.filter((payment) => payment.decision);
  }

  private async update(payment: Payment, body: Record<string, unknown>, operation: string): Promise<Payment> {
    try {
      const row = await this.pb.collection(COLLECTIONS.payments).update<PaymentRecordRow>(payment.id, { ...body, updatedAt: Date.now() });
      return toPayment(row);
    } catch (error) {
      throw new PaymentLedgerError(operation, { cause: error });
    }
  }
}

function toPayment(row: PaymentRecordRow): Payment {
  return {
    id: row.id,
    jobId: row.jobId,
    role: row.role,
    direction: row.direction,
    rail: row.rail,
    amount: BigInt(row.amount),
    unit: row.unit,
    state: row.state,
    reference: row.reference,
    counterparty: row.counterparty,
    details: row.details ?? {},
    ...(row.decision ? { decision: row.decision, decidedAt: row.decidedAt } : {}),
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

function isUniqueViolation(error: unknown): boolean {
  return error instanceof ClientResponseError && error.status === 400 && JSON.stringify(error.response).includes('validation_not_unique');
}
