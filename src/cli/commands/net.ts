// `infernet net test PEER`: latency and throughput between this node and another over the authenticated
// transport; the result is printed and appended to <home>/net-tests.jsonl for the planner and ranking.
import { parseArgs } from 'node:util';
import { createLogger } from '../../log/index.js';
import { AGENT } from '../../node/index.js';
import { appendNetTestResult, DEFAULT_NET_TEST, measureLink, netTestsFileOf, NetTestFailedError, type NetTestResult } from '../../network-test/index.js';
import { NET_TEST_MAX_BYTES, NET_TEST_MAX_SECONDS } from '../../protocol/index.js';
import { dialPeer, PeerUnreachableError } from '../../transport/index.js';
import { EXIT_CODES } from '../../errors/index.js';
import { CliError } from '../cli-error.js';
import { openNode } from '../open-node.js';

export const NET_USAGE = `infernet net test PEER_URL --home DIR [--json] [--seconds N] [--bytes N] [--pings N]
  Round-trip latency (p50/p95/p99) and throughput both ways to the node listening at PEER_URL (ws://...);
  at most --bytes (default 16 MiB) and --seconds (default 5) each way. Appends the result to <home>/net-tests.jsonl.`;

export async function netCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { home: { type: 'string' }, json: { type: 'boolean' }, seconds: { type: 'string' }, bytes: { type: 'string' }, pings: { type: 'string' } },
  });
  const [sub, peerUrl, ...extra] = positionals;
  if (sub !== 'test') throw new CliError(`unknown net subcommand ${JSON.stringify(sub ?? '')}: usage: ${NET_USAGE.split('\n')[0]}`, EXIT_CODES.usage);
  if (!peerUrl || extra.length) throw new CliError('net test takes one peer URL, e.g. ws://127.0.0.1:7420');
  if (!/^wss?:\/\/\S+$/.test(peerUrl)) throw new CliError(`the peer must be a ws:// or wss:// URL, got "${peerUrl}"`);
  const seconds = bounded('--seconds', values.seconds, DEFAULT_NET_TEST.seconds, 0.1, NET_TEST_MAX_SECONDS, false);
  const bytes = bounded('--bytes', values.bytes, DEFAULT_NET_TEST.bytes, 1024, NET_TEST_MAX_BYTES, true);
  const pings = bounded('--pings', values.pings, DEFAULT_NET_TEST.pings, 1, 10_000, true);
  const { home, config, key } = await openNode(values.home);
  const logger = createLogger({ level: 'warn', fd: 2 });
  const session = await dialPeer(peerUrl, { identity: { key, role: config.role, agent: AGENT }, limits: config.limits, logger }).catch((error: unknown) => {
    if (error instanceof PeerUnreachableError) throw new CliError(error.message);
    throw error;
  });
  let result: NetTestResult;
  try {
    const measurement = await measureLink(session, { pings, bytes, seconds, maxFrameBytes: config.limits.maxFrameBytes });
    const peer = session.peer!;
    result = { at: new Date().toISOString(), local: { pubkey: key.publicKey, npub: key.npub }, peer: { url: peerUrl, pubkey: peer.pubkey, npub: peer.npub }, ...measurement };
  } catch (error) {
    if (error instanceof NetTestFailedError) throw new CliError(`network test with ${peerUrl} failed: ${error.message}`);
    throw error;
  } finally {
    session.close('network test done');
  }
  await appendNetTestResult(netTestsFileOf(home.dir), result);
  if (values.json) return console.log(JSON.stringify(result, null, 2));
  const { latency, upload, download } = result;
  console.log(`peer      ${result.peer.npub} at ${peerUrl}`);
  console.log(`latency   p50 ${latency.p50Ms.toFixed(2)} ms, p95 ${latency.p95Ms.toFixed(2)} ms, p99 ${latency.p99Ms.toFixed(2)} ms (${latency.samples} round trips, min ${latency.minMs.toFixed(2)})`);
  console.log(`upload    ${formatRate(upload.bitsPerSecond)} (${formatBytes(upload.bytes)} in ${(upload.ms / 1000).toFixed(2)} s)`);
  console.log(`download  ${formatRate(download.bitsPerSecond)} (${formatBytes(download.bytes)} in ${(download.ms / 1000).toFixed(2)} s)`);
}

function bounded(flag: string, text: string | undefined, fallback: number, min: number, max: number, integer: boolean): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) throw new CliError(`${flag} must be a ${integer ? 'whole ' : ''}number from ${min} to ${max}, got "${text}"`);
  return value;
}

function formatRate(bitsPerSecond: number): string {
  return bitsPerSecond >= 1e9 ? `${(bitsPerSecond / 1e9).toFixed(2)} Gbit/s` : `${(bitsPerSecond / 1e6).toFixed(1)} Mbit/s`;
}

function formatBytes(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MiB` : `${(bytes / 1024).toFixed(1)} KiB`;
}
