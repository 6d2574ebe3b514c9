// `infernet top`: a node's jobs, token rates, peers and traffic, refreshed every second from its /metrics
// (or, while no metrics endpoint serves, what daemon.json says).
import { parseArgs } from 'node:util';
import { parsePrometheusText, sumOf, type MetricFamily } from '../../metrics/index.js';
import { readLiveDaemonState, type DaemonState } from '../../node/index.js';
import { CliError } from '../cli-error.js';
import { openNode } from '../open-node.js';

export const TOP_USAGE = `infernet top --home DIR [--once]
  Jobs by state, tokens/s, peers and bytes of the running daemon, every second (needs api.port for /metrics).`;

const ROLES = ['client', 'aggregator', 'provider'] as const;
const QUEUED = ['created', 'matched', 'dispatched'];
const REFRESH_MS = 1000;

export interface TopSnapshot {
  /** performance.now() of the scrape. */
  at: number;
  daemon: DaemonState;
  metrics?: Map<string, MetricFamily>;
  /** Why there are no metrics, when there are none. */
  note?: string;
}

export async function topCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { home: { type: 'string' }, once: { type: 'boolean' } } });
  const { home } = await openNode(values.home);
  const scrape = async (): Promise<TopSnapshot> => {
    const daemon = await readLiveDaemonState(home.daemonStateFile);
    if (!daemon) throw new CliError(`no daemon runs for ${home.dir}: start one with \`infernet start --home ${home.dir}\``);
    return { at: performance.now(), daemon, ...(await scrapeMetrics(daemon)) };
  };
  let previous = await scrape();
  if (values.once) return void process.stdout.write(renderTopFrame(previous));
  const interactive = process.stdout.isTTY;
  let stopped = false;
  process.once('SIGINT', () => (stopped = true));
  while (!stopped) {
    const current = await scrape();
    process.stdout.write((interactive ? '\x1b[2J\x1b[H' : '') + renderTopFrame(current, previous));
    previous = current;
    await new Promise((resolve) => setTimeout(resolve, REFRESH_MS));
  }
}

async function scrapeMetrics(daemon: DaemonState): Promise<Pick<TopSnapshot, 'metrics' | 'note'>> {
  if (!daemon.metrics) return { note: 'no metrics: set api.port in the config to serve /metrics' };
  try {
    const response = await fetch(daemon.metrics, { signal: AbortSignal.timeout(2000) });
    if (!response.ok) return { note: `${daemon.metrics} answered ${response.status}` };
    return { metrics: parsePrometheusText(await response.text()) };
  } catch (error) {
    return { note: `cannot read ${daemon.metrics}: ${(error as Error).message}` };
  }
}

/** One screen of `top`: pure, so a test can check it. Rates need the previous snapshot. */
export function renderTopFrame(current: TopSnapshot, previous?: TopSnapshot): string {
  const { daemon, metrics } = current;
  const lines = [`infernet top  ${daemon.npub} (${daemon.role})  pid ${daemon.pid}  up ${uptime(daemon.startedAt)}  ${new Date().toISOString()}`];
  if (!metrics) {
    const byRole = countBy(daemon.peers.map((peer) => peer.role));
    lines.push(`peers      ${formatCounts(byRole)}`, current.note ?? '');
    return lines.join('\n') + '\n';
  }
  const peers = metrics.get('infernet_peers')?.samples ?? [];
  lines.push(`peers      ${formatCounts(Object.fromEntries(peers.map((sample) => [sample.labels.role ?? '?', sample.value])))}`);
  lines.push('jobs       role        queued  running  completed  failed  cancelled');
  for (const role of ROLES) {
    const total = (state: string) => sumOf(metrics, 'infernet_jobs_total', { role, state });
    const active = (state: string) => sumOf(metrics, 'infernet_jobs_active', { role, state });
    if (total('created') + total('running') + active('running') === 0) continue;
    const queued = QUEUED.reduce((sum, state) => sum + active(state), 0);
    lines.push(`           ${role.padEnd(10)} ${pad(queued, 7)} ${pad(active('running'), 8)} ${pad(total('completed'), 10)} ${pad(total('failed'), 7)} ${pad(total('cancelled'), 10)}`);
  }
  for (const role of ROLES) {
    const tokens = sumOf(metrics, 'infernet_tokens_total', { role });
    if (!tokens) continue;
    const before = previous?.metrics ? sumOf(previous.metrics, 'infernet_tokens_total', { role }) : undefined;
    const now = before !== undefined && previous ? ((tokens - before) / ((current.at - previous.at) / 1000)).toFixed(1) : '-';
    const count = sumOf(metrics, 'infernet_job_tokens_per_second_count', { role });
    const perJob = count ? (sumOf(metrics, 'infernet_job_tokens_per_second_sum', { role }) / count).toFixed(1) : '-';
    lines.push(`tokens     ${role.padEnd(10)} ${tokens} total, ${now} tok/s now, ${perJob} tok/s per job (mean)`);
  }
  const slots = sumOf(metrics, 'infernet_provider_slots');
  if (slots) lines.push(`provider   ${sumOf(metrics, 'infernet_provider_active_jobs')}/${slots} slots busy`);
  lines.push(`transport  sent ${mib(sumOf(metrics, 'infernet_transport_bytes_total', { direction: 'sent' }))}, received ${mib(sumOf(metrics, 'infernet_transport_bytes_total', { direction: 'received' }))}`);
  return lines.join('\n') + '\n';
}

function countBy(values: readonly string[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const value of values) counts[value] = (counts[value] ?? 0) + 1;
  return counts;
}

function formatCounts(counts: Record<string, number>): string {
  const entries = Object.entries(counts);
  return entries.length ? entries.map(([name, count]) => `${name} ${count}`).join('  ') : 'none';
}

const pad = (value: number, width: number) => String(value).padStart(width);
const mib = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(2)} MiB`;

function uptime(startedAt: string): string {
  const seconds = Math.max(0, Math.round((Date.now() - Date.parse(startedAt)) / 1000));
  const hh = Math.floor(seconds / 3600);
  const mm = Math.floor((seconds % 3600) / 60);
  return `${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}:${String(seconds % 60).padStart(2, '0')}`;
}
