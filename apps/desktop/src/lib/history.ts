// Jobs submitted from this interface, kept on this machine (localStorage: the prompt never leaves it, and the
// node stores no prompts). Newest first, bounded.
export interface HistoryEntry {
  requestId: string;
  jobId: string;
  submittedAt: number;
  model: string;
  prompt: string;
  maxTokens: number;
  temperature: number;
  status: 'running' | 'completed' | 'failed' | 'cancelled';
  output: string;
  tokens: number;
  provider: string;
  error: string;
  totalMs: number;
}

export const HISTORY_KEY = 'infernet.history.v1';
export const HISTORY_LIMIT = 200;

export function loadHistory(storage: Pick<Storage, 'getItem'> = localStorage): HistoryEntry[] {
  try {
    const parsed: unknown = JSON.parse(storage.getItem(HISTORY_KEY) ?? '[]');
    return Array.isArray(parsed) ? (parsed as HistoryEntry[]).filter((entry) => typeof entry?.requestId === 'string') : [];
  } catch {
    return []; // a torn or foreign value: start afresh rather than break the view
  }
}

export function saveHistory(entries: readonly HistoryEntry[], storage: Pick<Storage, 'setItem'> = localStorage): void {
  storage.setItem(HISTORY_KEY, JSON.stringify(entries.slice(0, HISTORY_LIMIT)));
}

/** Adds an entry, or updates the one with its requestId, keeping newest first. */
export function upsertHistory(entries: readonly HistoryEntry[], entry: HistoryEntry): HistoryEntry[] {
  const rest = entries.filter((existing) => existing.requestId !== entry.requestId);
  return [entry, ...rest].sort((a, b) => b.submittedAt - a.submittedAt).slice(0, HISTORY_LIMIT);
}
