// Fetch throughput by content id, from 1 and from 4 holders (each its own process, serving the same file over
// /infernet/content/1.0.0 on loopback), against a plain HTTP download of the same file from a local server
// process in the same run; every byte verified against its CID and written to disk, as the download is.
// Also the fetching process's peak RSS and heap. Rounds alternate between the paths.
// Then the same fetch where the holders' links are the bottleneck, not the fetching process: each holder's sending
// is capped at THROTTLED_MB_PER_S by a pacer in the holder process (an application-level cap on the rate at which it
// reads blocks to send, enabled only by this benchmark's --rate flag), from 1 holder, from 4, and from 4 of which one
// is 8 times slower (the end game: a slow holder must not hold back the end). These rows fetch a file of a quarter
// of the size, so that the slow single-holder rounds stay short.
//   node_modules/.bin/node dist/bench/content-fetch.js [sizeMiB=256] [rounds=2]
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import { createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { multiaddr } from '@multiformats/multiaddr';
import { ContentStore, fetchContent, parseCid, sha256OfFile } from '../src/content/index.js';
import { startTestPeer, testLogger, writeDeterministicFile } from '../src/content/testing.js';
import { reportFigure } from './summary/bench-figure.js';

const SELF = fileURLToPath(import.meta.url);
/** Each throttled holder's cap: four of them (80 MB/s) stay well below what one unthrottled holder delivers here. */
const THROTTLED_MB_PER_S = 20;
/** The slow holder of the mixed row sends at this fraction of the cap. */
const SLOW_FRACTION = 1 / 8;

/**
 * Paces a holder's block reads to `bytesPerSecond`, shared by all its streams: a block is read (and then sent) no
 * sooner than the bytes before it allow, so the holder's link delivers at most that rate. Benchmark only.
 */
function paceReads(store: ContentStore, bytesPerSecond: number): void {
  const readRange = store.readRange.bind(store);
  let nextAt = performance.now();
  store.readRange = async (root, offset, length) => {
    const now = performance.now();
    const startAt = Math.max(now, nextAt);
    nextAt = startAt + (length / bytesPerSecond) * 1000;
    if (startAt > now) await new Promise((resolve) => setTimeout(resolve, startAt - now));
    return readRange(root, offset, length);
  };
}

/** Child modes: a holder (libp2p node serving a file in place) or the HTTP server. Each prints one JSON line. */
async function child(mode: string, dir: string, file: string, rateMBps?: number): Promise<void> {
  if (mode === '--holder') {
    const peer = await startTestPeer(dir, `holder-${process.pid}`);
    const { cid } = await peer.content.store.add(file, { inPlace: true });
    if (rateMBps) paceReads(peer.content.store, rateMBps * 1e6);
    console.log(JSON.stringify({ address: peer.address, cid }));
  } else {
    const server = createServer((request, response) => {
      response.writeHead(200, { 'content-type': 'application/octet-stream' });
      void pipeline(createReadStream(file), response).catch(() => undefined);
    });
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      console.log(JSON.stringify({ url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/file` }));
    });
  }
  process.on('SIGTERM', () => process.exit(0));
}

async function startChild(mode: string, dir: string, file: string, rateMBps?: number): Promise<{ process: ChildProcess; info: { address?: string; cid?: string; url?: string } }> {
  const proc = spawn(process.execPath, [SELF, mode, dir, file, ...(rateMBps ? ['--rate', String(rateMBps)] : [])], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(createInterface({ input: proc.stdout! }), 'line')) as [string];
  return { process: proc, info: JSON.parse(line) };
}

class PeakMemory {
  rss = 0;
  heap = 0;
  private readonly timer = setInterval(() => this.sample(), 50);
  constructor() {
    this.sample();
  }
  sample(): void {
    const usage = process.memoryUsage();
    this.rss = Math.max(this.rss, usage.rss);
    this.heap = Math.max(this.heap, usage.heapUsed);
  }
  stop(): this {
    clearInterval(this.timer);
    this.sample();
    return this;
  }
}

interface Sample {
  mbPerS: number;
  rss: number;
  heap: number;
}

async function main(): Promise<void> {
  const sizeMiB = Number(process.argv[2] ?? 256);
  const rounds = Number(process.argv[3] ?? 2);
  const size = sizeMiB * 1024 * 1024;
  const dir = await mkdtemp(join(tmpdir(), 'infernet-bench-content-'));
  const children: ChildProcess[] = [];
  try {
    const file = join(dir, 'file.bin');
    await writeDeterministicFile(file, size, 11);
    const expected = await sha256OfFile(file);
    const http = await startChild('--http', dir, file);
    children.push(http.process);
    const holders = await Promise.all([0, 1, 2, 3].map(() => startChild('--holder', dir, file)));
    children.push(...holders.map((holder) => holder.process));
    const cid = parseCid(holders[0]!.info.cid!);
    const smallSize = Math.max(1, Math.floor(sizeMiB / 4)) * 1024 * 1024;
    const smallFile = join(dir, 'small.bin');
    await writeDeterministicFile(smallFile, smallSize, 12);
    const smallExpected = await sha256OfFile(smallFile);
    const throttled = await Promise.all([1, 1, 1, 1, SLOW_FRACTION].map((fraction) => startChild('--holder', dir, smallFile, THROTTLED_MB_PER_S * fraction)));
    children.push(...throttled.map((holder) => holder.process));
    const smallCid = parseCid(throttled[0]!.info.cid!);
    const fetcher = await startTestPeer(dir, 'fetcher');
    const store = new ContentStore(join(dir, 'fetcher'));
    const samples: Record<'http' | 'one' | 'four' | 'oneCapped' | 'fourCapped' | 'fourOneSlow', Sample[]> = { http: [], one: [], four: [], oneCapped: [], fourCapped: [], fourOneSlow: [] };
    let n = 0;
    const measure = async (path: keyof typeof samples, run: (out: string) => Promise<void>, bytes = size, hash = expected): Promise<void> => {
      const out = join(dir, `out-${n++}.bin`);
      global.gc?.();
      const memory = new PeakMemory();
      const started = performance.now();
      await run(out);
      const seconds = (performance.now() - started) / 1000;
      memory.stop();
      if ((await sha256OfFile(out)) !== hash) throw new Error(`${path}: the downloaded file differs from the original`);
      await rm(out, { force: true });
      samples[path].push({ mbPerS: bytes / 1e6 / seconds, rss: memory.rss, heap: memory.heap });
    };
    for (let round = 0; round < rounds; round++) {
      await measure('http', async (out) => {
        const response = await fetch(http.info.url!);
        if (!response.ok || !response.body) throw new Error(`HTTP ${response.status}`);
        await pipeline(response.body, createWriteStream(out));
      });
      for (const [path, count] of [['one', 1], ['four', 4]] as const) {
        await measure(path, async (out) => {
          await fetchContent({ libp2p: fetcher.node.libp2p, store, cid, out, logger: testLogger, findProviders: false, peers: holders.slice(0, count).map((holder) => multiaddr(holder.info.address!)) });
        });
      }
      // Four holders at the cap; then three of them and the slow one (the last).
      for (const [path, from] of [['oneCapped', throttled.slice(0, 1)], ['fourCapped', throttled.slice(0, 4)], ['fourOneSlow', [...throttled.slice(0, 3), throttled[4]!]]] as const) {
        await measure(
          path,
          async (out) => {
            await fetchContent({ libp2p: fetcher.node.libp2p, store, cid: smallCid, out, logger: testLogger, findProviders: false, peers: from.map((holder) => multiaddr(holder.info.address!)) });
          },
          smallSize,
          smallExpected,
        );
      }
    }
    await fetcher.stop();
    const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
    const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(0);
    const httpRate = median(samples.http.map((s) => s.mbPerS));
    console.log(`\ncontent fetch: ${sizeMiB} MiB file, ${rounds} round(s), median MB/s; peak RSS/heap of the fetching process (MiB)`);
    console.log(`${'path'.padEnd(44)} ${'MB/s'.padStart(8)} ${'x HTTP'.padStart(7)} ${'RSS'.padStart(6)} ${'heap'.padStart(6)}`);
    const row = (name: string, list: Sample[], base = httpRate) =>
      console.log(`${name.padEnd(44)} ${median(list.map((s) => s.mbPerS)).toFixed(1).padStart(8)} ${(median(list.map((s) => s.mbPerS)) / base).toFixed(2).padStart(7)} ${mib(Math.max(...list.map((s) => s.rss))).padStart(6)} ${mib(Math.max(...list.map((s) => s.heap))).padStart(6)}`);
    row('plain HTTP download (baseline, local server)', samples.http);
    row('content get from 1 holder (verified)', samples.one);
    row('content get from 4 holders (verified)', samples.four);
    console.log(`\nlinks as the bottleneck: each holder's sending capped at ${THROTTLED_MB_PER_S} MB/s in the holder process (an application-level pacer, not tc), ${smallSize / 1024 / 1024} MiB file`);
    console.log(`${'path'.padEnd(44)} ${'MB/s'.padStart(8)} ${'x 1'.padStart(7)} ${'RSS'.padStart(6)} ${'heap'.padStart(6)}`);
    const capped = median(samples.oneCapped.map((s) => s.mbPerS));
    row(`content get from 1 holder at ${THROTTLED_MB_PER_S} MB/s`, samples.oneCapped, capped);
    row(`content get from 4 holders at ${THROTTLED_MB_PER_S} MB/s`, samples.fourCapped, capped);
    row(`3 of them and 1 holder at ${THROTTLED_MB_PER_S * SLOW_FRACTION} MB/s`, samples.fourOneSlow, capped);
    const rateOf = (list: Sample[]) => median(list.map((s) => s.mbPerS));
    reportFigure({ name: 'MB/s, 1 holder / plain HTTP', value: rateOf(samples.one) / httpRate, unit: 'ratio', target: { atLeast: 0.9 } });
    reportFigure({ name: 'MB/s, 4 holders / 1 holder', value: rateOf(samples.four) / rateOf(samples.one), unit: 'ratio', note: 'unthrottled loopback: the fetching process, not the links, is the bottleneck' });
    reportFigure({ name: 'MB/s, 4 holders / 1 holder, links capped', value: rateOf(samples.fourCapped) / rateOf(samples.oneCapped), unit: 'ratio', target: { atLeast: 1 }, note: `each holder paced to ${THROTTLED_MB_PER_S} MB/s in its own process (application level)` });
    reportFigure({ name: 'MB/s, 3 capped + 1 slow holder / 1 capped holder', value: rateOf(samples.fourOneSlow) / rateOf(samples.oneCapped), unit: 'ratio', target: { atLeast: 1 }, note: `the fourth holder at ${THROTTLED_MB_PER_S * SLOW_FRACTION} MB/s: a slow holder must not hold back the end` });
  } finally {
    for (const proc of children) proc.kill('SIGTERM');
    await rm(dir, { recursive: true, force: true });
  }
}

const [mode, dirArg, fileArg, rateFlag, rateArg] = process.argv.slice(2);
if (mode === '--holder' || mode === '--http') await child(mode, dirArg!, fileArg!, rateFlag === '--rate' ? Number(rateArg) : undefined);
else await main();
