// What each NWC connection has spent, in a file beside the wallet file written before every payment: a payment
// is reserved against the budget before LND sees it, so a crash mid-payment cannot free budget, and a request
// seen once (redelivered by a relay, or by a second relay) is never paid twice.
import { chmod, readFile, rename, writeFile } from 'node:fs/promises';
import { z } from 'zod';
import { BUDGET_WINDOW_MS, decideBudget, type BudgetDecision, type ConnectionBudget, type SpendingEntry } from './nwc-budget.js';
import { NwcStateError } from './nwc-errors.js';

const SpendingFile = z.object({
  entries: z.array(z.object({ requestId: z.string(), pubkey: z.string(), sat: z.number(), at: z.number(), state: z.enum(['reserved', 'paid', 'failed']), paymentHash: z.string().optional(), amountSat: z.number().optional() })),
});
/** Entries are kept twice the budget window: long enough to spot a redelivered request, short enough to stay small. */
const KEEP_MS = 2 * BUDGET_WINDOW_MS;

export class NwcSpending {
  private entries: SpendingEntry[] = [];
  /** Writes one at a time, in order: each is the whole file. */
  private writing: Promise<void> = Promise.resolve();

  private constructor(readonly path: string) {}

  static async open(path: string): Promise<NwcSpending> {
    const spending = new NwcSpending(path);
    let text: string | undefined;
    try {
      text = await readFile(path, 'utf8');
    } catch (cause) {
      if ((cause as NodeJS.ErrnoException).code !== 'ENOENT') throw new NwcStateError(`cannot read ${path}`, { cause });
    }
    if (text !== undefined) {
      const parsed = SpendingFile.safeParse(safeJson(text));
      if (!parsed.success) throw new NwcStateError(`${path} is not an NWC spending record: move it away to start a fresh one (budgets then restart at zero)`);
      spending.entries = parsed.data.entries;
    }
    return spending;
  }

  has(requestId: string): boolean {
    return this.entries.some((entry) => entry.requestId === requestId);
  }

  /** Decides against the budget and, when it fits, records the reservation on disk before returning. */
  async reserve(budget: ConnectionBudget, pubkey: string, requestId: string, amountSat: number, feeLimitSat: number, options: { paymentHash?: string; now?: number } = {}): Promise<BudgetDecision> {
    const now = options.now ?? Date.now();
    const decision = decideBudget(budget, this.entries, pubkey, amountSat, feeLimitSat, now);
    if (!decision.ok) return decision;
    const entry: SpendingEntry = { requestId, pubkey, sat: amountSat + feeLimitSat, at: now, state: 'reserved', amountSat, ...(options.paymentHash ? { paymentHash: options.paymentHash } : {}) };
    this.entries = [...this.entries.filter((kept) => kept.at > now - KEEP_MS), entry];
    await this.save();
    return decision;
  }

  /** Payments whose outcome was not known when the service last ran (a crash, or LND unreachable mid-payment). */
  unresolved(): SpendingEntry[] {
    return this.entries.filter((entry) => entry.state === 'reserved' && entry.paymentHash);
  }

  async finish(requestId: string, outcome: { paidSat: number } | 'failed'): Promise<void> {
    this.entries = this.entries.map((entry) => (entry.requestId !== requestId ? entry : outcome === 'failed' ? { ...entry, state: 'failed' } : { ...entry, state: 'paid', sat: outcome.paidSat }));
    await this.save();
  }

  private save(): Promise<void> {
    const text = JSON.stringify({ entries: this.entries }) + '\n';
    this.writing = this.writing.catch(() => undefined).then(async () => {
      const temporary = `${this.path}.tmp`;
      await writeFile(temporary, text, { mode: 0o600 });
      await chmod(temporary, 0o600);
      await rename(temporary, this.path);
    });
    return this.writing;
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}
