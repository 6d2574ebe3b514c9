// A way money is held for a job until settlement: the Polygon escrow or a Lightning hold invoice. The service
// asks a rail what it holds and tells it to release or refund; a rail must answer truthfully after a crash
// (the chain or LND is the source of truth), so the service can tell "done" from "still to do".
import type { PaymentRail, PaymentUnit } from '../ledger/payment-ledger.js';

export type HeldStatus = 'none' | 'held' | 'released' | 'refunded';

export interface HeldFunds {
  status: HeldStatus;
  amount: bigint;
  unit: PaymentUnit;
  details: Record<string, unknown>;
}

export interface RailSettlement {
  /** Transaction hash or invoice payment hash. */
  reference: string;
  details: Record<string, unknown>;
}

export interface SettlementRail {
  readonly rail: PaymentRail;
  /** What this rail holds for the job that this node may settle; status 'none' when nothing. */
  inspect(jobId: string): Promise<HeldFunds>;
  release(jobId: string): Promise<RailSettlement>;
  refund(jobId: string): Promise<RailSettlement>;
  /** True for a refusal no retry can change (e.g. the escrow's deadline passed): the payment is given up. */
  isPermanentFailure?(error: unknown): boolean;
  /** After a settlement this node did not see finish (a crash): how it was done, if the rail can tell. */
  settledBy?(jobId: string): Promise<RailSettlement | undefined>;
}
