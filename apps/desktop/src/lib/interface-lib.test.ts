// The interface's pure logic (compiled by src/lib/tsconfig.tests.json and run with node:test, no browser):
// log lines, their exports, the local history and reputation series.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { JobEventRow, LogRow, ReputationEventRow } from './app-messages.js';
import { HISTORY_KEY, HISTORY_LIMIT, loadHistory, saveHistory, upsertHistory, type HistoryEntry } from './history.js';
import { csvField, filterLogEntries, logsToCsv, logSummaryCsv, mergeLogEntries } from './logs.js';
import { reputationSeries } from './reputation.js';

const rows: LogRow[] = [
  { id: 'l1', level: 'info', source: 'app-gateway', message: 'an interface connected', jobId: '', data: null, at: 1_000 },
  { id: 'l2', level: 'error', source: 'provider', message: 'engine crashed, "badly", again', jobId: 'job-2', data: null, at: 3_000 },
];
const events: JobEventRow[] = [
  { id: 'e1', jobId: 'job-1', role: 'client', from: '', to: 'created', at: 2_000, reason: '' },
  { id: 'e2', jobId: 'job-1', role: 'client', from: 'running', to: 'failed', at: 4_000, reason: 'provider gone' },
];

describe('log lines', () => {
  const entries = mergeLogEntries(rows, events);

  it('merge node lines and job transitions, newest first, failures as warnings', () => {
    assert.deepEqual(entries.map((e) => [e.at, e.level, e.source, e.message]), [
      [4_000, 'warn', 'job:client', 'running → failed: provider gone'],
      [3_000, 'error', 'provider', 'engine crashed, "badly", again'],
      [2_000, 'info', 'job:client', 'created (created)'],
      [1_000, 'info', 'app-gateway', 'an interface connected'],
    ]);
  });

  it('filter by minimum level, source and text (message or job id)', () => {
    assert.deepEqual(filterLogEntries(entries, { level: 'warn', source: '', text: '' }).map((e) => e.at), [4_000, 3_000]);
    assert.deepEqual(filterLogEntries(entries, { level: '', source: 'job:client', text: '' }).map((e) => e.at), [4_000, 2_000]);
    assert.deepEqual(filterLogEntries(entries, { level: '', source: '', text: 'JOB-2' }).map((e) => e.at), [3_000]);
  });

  it('export as RFC 4180 CSV, quoting commas and quotes', () => {
    assert.equal(csvField('a,"b"'), '"a,""b"""');
    assert.equal(csvField('line\nbreak'), '"line\nbreak"');
    assert.equal(csvField(42), '42');
    const csv = logsToCsv(entries).split('\r\n');
    assert.equal(csv[0], 'time,level,source,jobId,message');
    assert.equal(csv[2], '1970-01-01T00:00:03.000Z,error,provider,job-2,"engine crashed, ""badly"", again"');
  });

  it('summarise per source and level with counts and first and last times', () => {
    const summary = logSummaryCsv([...entries, { ...entries[2]!, id: 'x', at: 5_000 }]).trim().split('\r\n');
    assert.deepEqual(summary, [
      'source,level,count,first,last',
      'app-gateway,info,1,1970-01-01T00:00:01.000Z,1970-01-01T00:00:01.000Z',
      'job:client,info,2,1970-01-01T00:00:02.000Z,1970-01-01T00:00:05.000Z',
      'job:client,warn,1,1970-01-01T00:00:04.000Z,1970-01-01T00:00:04.000Z',
      'provider,error,1,1970-01-01T00:00:03.000Z,1970-01-01T00:00:03.000Z',
    ]);
  });
});

describe('the local history', () => {
  const entry = (n: number, status: HistoryEntry['status'] = 'running'): HistoryEntry => ({ requestId: `r${n}`, jobId: `j${n}`, submittedAt: n, model: 'm', prompt: 'p', maxTokens: 8, temperature: 0, status, output: '', tokens: 0, provider: '', error: '', totalMs: 0 });

  it('updates an entry in place by request id and keeps newest first, bounded', () => {
    let history = upsertHistory([], entry(1));
    history = upsertHistory(history, entry(2));
    history = upsertHistory(history, entry(1, 'completed'));
    assert.deepEqual(history.map((e) => [e.requestId, e.status]), [['r2', 'running'], ['r1', 'completed']]);
    for (let n = 3; n < HISTORY_LIMIT + 10; n++) history = upsertHistory(history, entry(n));
    assert.equal(history.length, HISTORY_LIMIT);
    assert.equal(history[0]!.requestId, `r${HISTORY_LIMIT + 9}`);
  });

  it('survives storage that holds garbage or nothing', () => {
    const storage = new Map<string, string>();
    const store = { getItem: (key: string) => storage.get(key) ?? null, setItem: (key: string, value: string) => void storage.set(key, value) };
    assert.deepEqual(loadHistory(store), []);
    storage.set(HISTORY_KEY, '{torn');
    assert.deepEqual(loadHistory(store), []);
    saveHistory([entry(7)], store);
    assert.deepEqual(loadHistory(store), [entry(7)]);
  });
});

describe('reputation over time', () => {
  it('is a running total of each provider’s deltas in time order, busiest providers first', () => {
    const event = (provider: string, at: number, delta: number): ReputationEventRow => ({ id: `${provider}${at}`, provider, jobId: '', kind: 'completed', delta, reason: '', at });
    const series = reputationSeries([event('a', 3, -0.5), event('a', 1, 1), event('b', 2, 1), event('a', 2, 1)]);
    assert.deepEqual(series, [
      { provider: 'a', points: [{ at: 1, score: 1 }, { at: 2, score: 2 }, { at: 3, score: 1.5 }] },
      { provider: 'b', points: [{ at: 2, score: 1 }] },
    ]);
  });
});
