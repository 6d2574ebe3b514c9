// The logs view's rows: the node's own log lines and every job transition, in one time-ordered list that can be
// filtered and exported (JSON rows, CSV rows, and a CSV summary per source and level).
import type { JobEventRow, LogRow } from './app-messages';

export interface LogEntry {
  id: string;
  at: number;
  level: string;
  source: string;
  jobId: string;
  message: string;
}

export interface LogFilter {
  level: string;
  source: string;
  text: string;
}

const LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'];

export function logEntryOfRow(row: LogRow): LogEntry {
  return { id: `log:${row.id}`, at: row.at, level: row.level, source: row.source || 'node', jobId: row.jobId, message: row.message };
}

/** A job transition reads as a log line: failures and cancellations as warnings. */
export function logEntryOfJobEvent(event: JobEventRow): LogEntry {
  const level = event.to === 'failed' || event.to === 'cancelled' ? 'warn' : 'info';
  const move = event.from ? `${event.from} → ${event.to}` : `created (${event.to})`;
  return { id: `event:${event.id}`, at: event.at, level, source: `job:${event.role}`, jobId: event.jobId, message: event.reason ? `${move}: ${event.reason}` : move };
}

export function mergeLogEntries(rows: readonly LogRow[], events: readonly JobEventRow[]): LogEntry[] {
  return [...rows.map(logEntryOfRow), ...events.map(logEntryOfJobEvent)].sort((a, b) => b.at - a.at || a.id.localeCompare(b.id));
}

/** Level filters keep that level and the more severe ones. */
export function filterLogEntries(entries: readonly LogEntry[], filter: LogFilter): LogEntry[] {
  const minimum = filter.level ? LEVELS.indexOf(filter.level) : -1;
  const text = filter.text.trim().toLowerCase();
  return entries.filter(
    (entry) =>
      LEVELS.indexOf(entry.level) >= minimum &&
      (!filter.source || entry.source === filter.source) &&
      (!text || `${entry.message} ${entry.jobId} ${entry.source}`.toLowerCase().includes(text)),
  );
}

export function sourcesOf(entries: readonly LogEntry[]): string[] {
  return [...new Set(entries.map((entry) => entry.source))].sort();
}

/** RFC 4180: quote a field holding a comma, quote or line break, doubling its quotes. */
export function csvField(value: string | number): string {
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function csv(rows: ReadonlyArray<ReadonlyArray<string | number>>): string {
  return rows.map((row) => row.map(csvField).join(',')).join('\r\n') + '\r\n';
}

export function logsToJson(entries: readonly LogEntry[]): string {
  return JSON.stringify(entries.map(({ at, level, source, jobId, message }) => ({ time: new Date(at).toISOString(), level, source, jobId, message })), null, 2) + '\n';
}

export function logsToCsv(entries: readonly LogEntry[]): string {
  return csv([['time', 'level', 'source', 'jobId', 'message'], ...entries.map((entry) => [new Date(entry.at).toISOString(), entry.level, entry.source, entry.jobId, entry.message])]);
}

/** One row per source and level: how many lines, and the first and last time one was written. */
export function logSummaryCsv(entries: readonly LogEntry[]): string {
  const groups = new Map<string, { source: string; level: string; count: number; first: number; last: number }>();
  for (const entry of entries) {
    const key = `${entry.source}\u0000${entry.level}`;
    const group = groups.get(key) ?? { source: entry.source, level: entry.level, count: 0, first: entry.at, last: entry.at };
    group.count++;
    group.first = Math.min(group.first, entry.at);
    group.last = Math.max(group.last, entry.at);
    groups.set(key, group);
  }
  const rows = [...groups.values()].sort((a, b) => a.source.localeCompare(b.source) || LEVELS.indexOf(a.level) - LEVELS.indexOf(b.level));
  return csv([['source', 'level', 'count', 'first', 'last'], ...rows.map((g) => [g.source, g.level, g.count, new Date(g.first).toISOString(), new Date(g.last).toISOString()])]);
}
