// A 1 GiB file held by four daemons on loopback, fetched by content id with `infernet content get`: from all of
// them at once, found through DHT provider records; the fetch killed once and resumed without downloading its
// verified chunks again; one holder killed mid-transfer; one holder with silently corrupted chunks banned;
// the result's sha256 equal to the original's; the fetching process's heap no larger than for a small file.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { copyFile, cp, mkdtemp, open, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import YAML from 'yaml';
import { CHUNK_SIZE } from '../../src/content/constants.js';
import { sha256OfFile } from '../../src/content/content-store.js';
import { writeDeterministicFile } from '../../src/content/testing.js';
import { eventually, INFERNET_BIN, runCli } from '../support/cli.js';

const SIZE = 1024 * 1024 * 1024;
const SMALL_SIZE = 16 * 1024 * 1024;
const HOLDERS = ['a', 'b', 'c', 'd'] as const;

interface GetLine {
  event: 'progress' | 'done';
  bytes?: number;
  totalBytes?: number;
  reusedBytes?: number;
  fetchedBytes?: number;
  sha256?: string;
  size?: number;
  peers?: Array<{ peerId: string; bytes: number; status: string }>;
  banned?: string[];
  memory?: { peakRssBytes: number; peakHeapUsedBytes: number };
}

/** `infernet content get` as a process whose JSON lines are read as they come; onLine may kill it. */
async function contentGet(args: string[], onLine: (line: GetLine, child: ChildProcess) => void): Promise<{ code: number | null; signal: NodeJS.Signals | null; lines: GetLine[]; stderr: string }> {
  const child = spawn(process.execPath, [INFERNET_BIN, 'content', 'get', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const lines: GetLine[] = [];
  const killer = setTimeout(() => child.kill('SIGKILL'), 600_000);
  createInterface({ input: child.stdout! }).on('line', (text) => {
    const line = JSON.parse(text) as GetLine;
    lines.push(line);
    onLine(line, child);
  });
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  clearTimeout(killer);
  return { code, signal, lines, stderr };
}

interface Holder {
  process: ChildProcess;
  peerId: string;
  multiaddrs: string[];
  log: () => string;
  stop: () => Promise<void>;
}

/**
 * `infernet start` on a holder's home, waiting (up to two minutes: four daemons and a busy machine) until its
 * daemon.json names its libp2p addresses.
 */
async function startHolder(home: string): Promise<Holder> {
  const child = spawn(process.execPath, [INFERNET_BIN, 'start', '--home', home], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, INFERNET_STOP_WITH_STDIN: '1' } });
  let log = '';
  child.stdout!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (log += chunk.toString()));
  let state: { pid: number; peerId?: string; multiaddrs?: string[] } | undefined;
  // A daemon that does not come up in time is killed, not left behind.
  const started = eventually(
    async () => {
      if (child.exitCode !== null) throw new Error(`daemon for ${home} exited with ${child.exitCode}: ${log}`);
      const current: typeof state = await readFile(join(home, 'daemon.json'), 'utf8').then((text) => JSON.parse(text), () => undefined);
      state = current;
      return current?.pid === child.pid && Boolean(current?.multiaddrs?.length);
    },
    120_000,
    `the daemon of ${home} to start`,
  );
  await started.catch((error: unknown) => {
    child.kill('SIGKILL');
    throw error;
  });
  return {
    process: child,
    peerId: state!.peerId!,
    multiaddrs: state!.multiaddrs!.filter((address) => !address.includes('/ws') && !address.includes('p2p-circuit')),
    log: () => log,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGKILL');
      await once(child, 'exit');
    },
  };
}

async function configure(home: string): Promise<void> {
  const path = join(home, 'config.yaml');
  const config = YAML.parse(await readFile(path, 'utf8'));
  config.storage = { backend: 'file' };
  // Five nodes on one host: exempt loopback from the per-host inbound connection limit.
  config.discovery.allow = ['/ip4/127.0.0.1'];
  await writeFile(path, YAML.stringify(config));
}

describe('content get of a 1 GiB file held by four peers', () => {
  let dir: string;
  const holders = new Map<string, Holder>();
  let holderA: Holder;
  const peerId = (name: string) => holders.get(name)!.peerId;
  let original: string;
  let originalHash: string;
  let cid: string;
  const home = (name: string) => join(dir, name);
  const json = async (args: string[]) => {
    const result = await runCli(args, { timeoutMs: 300_000 });
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout);
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infernet-content-'));
    original = join(dir, 'model.bin');
    originalHash = await writeDeterministicFile(original, SIZE, 5);
    await runCli(['init', '--home', home('a'), '--role', 'aggregator', '--port', '0', '--discovery']);
    await configure(home('a'));
    const added = await json(['content', 'add', original, '--in-place', '--home', home('a'), '--json']);
    assert.equal(added.size, SIZE);
    cid = added.cid;
    holderA = await startHolder(home('a'));
    const bootstrap = holderA.multiaddrs[0]!;
    // The other holders get a's store as it is (its manifest and DAG nodes): hashing 1 GiB once is enough on
    // two cores. Holder d references its own copy, silently corrupted after it was hashed: one byte in every
    // 8th chunk, size and modification time unchanged, so it serves those chunks without knowing they are bad.
    const corrupt = join(dir, 'corrupt-copy.bin');
    await copyFile(original, corrupt);
    const file = await open(corrupt, 'r+');
    for (let offset = 7 * CHUNK_SIZE + 100; offset < SIZE; offset += 8 * CHUNK_SIZE) {
      const byte = Buffer.alloc(1);
      await file.read(byte, 0, 1, offset);
      await file.write(Buffer.from([byte[0]! ^ 0xff]), 0, 1, offset);
    }
    await file.close();
    await utimes(corrupt, 1_700_000_000, 1_700_000_000);
    for (const name of ['b', 'c', 'd'] as const) {
      await runCli(['init', '--home', home(name), '--role', 'aggregator', '--port', '0', '--bootstrap', bootstrap]);
      await configure(home(name));
      await cp(join(home('a'), 'content'), join(home(name), 'content'), { recursive: true });
      if (name === 'd') {
        const manifestPath = join(home('d'), 'content', 'roots', `${cid}.json`);
        const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
        await writeFile(manifestPath, JSON.stringify({ ...manifest, path: corrupt, mtimeMs: (await stat(corrupt)).mtimeMs }));
      }
    }
    const others = await Promise.all((['b', 'c', 'd'] as const).map((name) => startHolder(home(name))));
    for (const [index, holder] of [holderA, ...others].entries()) holders.set(HOLDERS[index]!, holder);
    for (const [name, holder] of holders) await eventually(() => holder.log().includes('content provided in the DHT'), 120_000, `${name} to provide the content`);
    await runCli(['init', '--home', home('fetcher'), '--role', 'client', '--bootstrap', bootstrap]);
    await configure(home('fetcher'));
  });

  after(async () => {
    for (const holder of holders.values()) await holder.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('fetches it from all holders, resumes after a kill, survives a holder killed, bans the corrupt one, and matches the original', async () => {
    assert.match(cid, /^bafybei/, 'a multi-chunk file is a dag-pb root');
    const out = join(dir, 'fetched', 'model.bin');

    // 1. Interrupted: the fetching process is killed once 30% of the file is verified.
    const first = await contentGet([cid, '--out', out, '--home', home('fetcher')], (line, child) => {
      if (line.event === 'progress' && line.bytes! >= 0.3 * SIZE) child.kill('SIGKILL');
    });
    assert.equal(first.signal, 'SIGKILL', `the first attempt was to be killed mid-way: ${first.stderr}`);
    const lastProgress = first.lines.filter((line) => line.event === 'progress').at(-1)!;
    assert.equal(lastProgress.totalBytes, SIZE);
    // What the killed process had made durable: a bit per verified chunk (all chunks are full-size here).
    const recorded = Buffer.from(JSON.parse(await readFile(`${out}.part.json`, 'utf8')).verified, 'base64');
    const recordedBytes = [...recorded].reduce((sum, byte) => sum + popCount(byte), 0) * CHUNK_SIZE;
    assert.ok(recordedBytes >= SIZE / 10, `the verified chunks were recorded (${recordedBytes} bytes)`);

    // 2. Resumed; holder b is killed once another tenth of the file has arrived.
    let killedB = false;
    const second = await contentGet([cid, '--out', out, '--home', home('fetcher')], (line) => {
      if (!killedB && line.event === 'progress' && line.bytes! - line.reusedBytes! >= SIZE / 10) {
        killedB = true;
        holders.get('b')!.process.kill('SIGKILL');
      }
    });
    assert.equal(second.code, 0, second.stderr);
    assert.ok(killedB, 'holder b was killed during the transfer');
    const done = second.lines.at(-1)!;
    assert.equal(done.event, 'done');
    assert.equal(done.sha256, originalHash, 'the fetched file hashes to the original');
    assert.equal(await sha256OfFile(out), originalHash);

    // Resumed from what the first attempt verified: those chunks were not downloaded again.
    assert.equal(done.reusedBytes, recordedBytes, 'every chunk the first attempt recorded was reused');
    assert.ok(done.fetchedBytes! >= SIZE - done.reusedBytes!, 'everything else was downloaded');
    assert.ok(done.fetchedBytes! <= SIZE - done.reusedBytes! + 16 * CHUNK_SIZE, `downloaded ${done.fetchedBytes} bytes, more than the missing ones plus a few bad chunks`);

    // From all four holders; b gone mid-transfer; d banned for its bad chunks.
    const report = new Map(done.peers!.map((peer) => [peer.peerId, peer]));
    for (const name of HOLDERS) assert.ok((report.get(peerId(name))?.bytes ?? 0) > 0, `holder ${name} sent bytes: ${JSON.stringify(done.peers)}`);
    assert.equal(report.get(peerId('b'))?.status, 'gone');
    assert.deepEqual(done.banned, [peerId('d')]);
    assert.equal(report.get(peerId('d'))?.status, 'banned');
    for (const name of ['a', 'c']) assert.equal(report.get(peerId(name))?.status, 'ok');

    // 3. Bounded memory: the same fetch of a 16 MiB file, from holder a alone, for comparison.
    const small = join(dir, 'small.bin');
    await writeDeterministicFile(small, SMALL_SIZE, 6);
    const smallCid = (await json(['content', 'add', small, '--home', home('a'), '--json'])).cid;
    const address = holderA.multiaddrs[0]!;
    const third = await contentGet([smallCid, '--out', join(dir, 'fetched', 'small.bin'), '--home', home('fetcher'), '--peer', address, '--no-dht'], () => undefined);
    assert.equal(third.code, 0, third.stderr);
    const smallDone = third.lines.at(-1)!;
    const big = done.memory!;
    const little = smallDone.memory!;
    console.log(`peak heap: ${mib(big.peakHeapUsedBytes)} MiB for 1 GiB, ${mib(little.peakHeapUsedBytes)} MiB for 16 MiB; peak RSS ${mib(big.peakRssBytes)} / ${mib(little.peakRssBytes)} MiB`);
    assert.ok(big.peakHeapUsedBytes < little.peakHeapUsedBytes + 64 * 1024 * 1024, 'the heap does not grow with the file size');
    assert.ok(big.peakRssBytes < 512 * 1024 * 1024, `peak RSS ${mib(big.peakRssBytes)} MiB stays far below the 1 GiB file`);
  });
});

function popCount(byte: number): number {
  let count = 0;
  for (let bits = byte; bits; bits &= bits - 1) count++;
  return count;
}

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}
