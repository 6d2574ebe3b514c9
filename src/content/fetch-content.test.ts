// Fetching by content id between real libp2p nodes on loopback: holders found in the DHT, a bad holder banned,
// a vanished holder's share taken by the others, an interrupted fetch resumed from what it had verified; wants
// pipelined to a holder within the window, and a holder lying in the middle of its window dropped.
import assert from 'node:assert/strict';
import { mkdtemp, open, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { multiaddr } from '@multiformats/multiaddr';
import { createDiscoveryNode } from '../discovery/index.js';
import { generateNodeKey } from '../identity/index.js';
import { CHUNK_SIZE, CONTENT_PROTOCOL } from './constants.js';
import { ContentStore, parseCid, sha256OfFile } from './content-store.js';
import { FrameReader, sendFrame, type ExchangeHeader } from './exchange-frames.js';
import { fetchContent } from './fetch-content.js';
import { fetchStatePathOf } from './fetch-state.js';
import { startTestPeer, testLogger, writeDeterministicFile, type TestPeer } from './testing.js';

const SIZE = 24 * CHUNK_SIZE + 12_345;

describe('fetching content from peers', () => {
  let dir: string;
  let source: string;
  let sourceHash: string;
  let cid: string;
  let first: TestPeer;
  let second: TestPeer;
  let fetcher: TestPeer;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infernet-fetch-'));
    source = join(dir, 'model.bin');
    await writeDeterministicFile(source, SIZE, 3);
    sourceHash = await sha256OfFile(source);
    first = await startTestPeer(dir, 'first');
    second = await startTestPeer(dir, 'second', [first.address]);
    cid = (await first.content.store.add(source, { inPlace: true })).cid;
    assert.equal((await second.content.store.add(source)).cid, cid, 'a copy and an in-place reference have the same id');
    fetcher = await startTestPeer(dir, 'fetcher', [first.address]);
  });
  after(async () => {
    for (const peer of [first, second, fetcher]) await peer?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('finds both holders in the DHT and fetches from both, the result hashing to the original', async () => {
    const holders = async () => {
      const found: string[] = [];
      for await (const provider of fetcher.node.libp2p.contentRouting.findProviders(parseCid(cid), { signal: AbortSignal.timeout(5_000) })) found.push(provider.id.toString());
      return found;
    };
    for (let tries = 0; (await holders().catch(() => [])).length < 2 && tries < 50; tries++) await new Promise((resolve) => setTimeout(resolve, 200));
    const out = join(dir, 'fetched', 'dht.bin');
    const result = await fetchContent({ libp2p: fetcher.node.libp2p, store: fetcher.content.store, cid: parseCid(cid), out, logger: testLogger });
    assert.equal(await sha256OfFile(out), sourceHash);
    assert.equal(result.size, SIZE);
    assert.deepEqual(new Set(result.peers.map((peer) => peer.peerId)), new Set([first.node.peerId, second.node.peerId]));
    assert.ok(result.peers.every((peer) => peer.bytes > 0 && peer.status === 'ok'), JSON.stringify(result.peers));
    assert.equal(result.reusedBytes, 0);
    // The fetcher now holds it too, in place, and serves it.
    assert.equal((await fetcher.content.store.manifest(cid))?.path, out);
  });

  it('bans a holder whose chunks do not match the content id and completes from the other', async () => {
    const bad = await startTestPeer(dir, 'bad');
    try {
      const copy = join(dir, 'bad-copy.bin');
      await writeDeterministicFile(copy, SIZE, 3);
      // Whole seconds, so that setting the time again restores it exactly.
      await utimes(copy, 1_700_000_000, 1_700_000_000);
      await bad.content.store.add(copy, { inPlace: true });
      // Silent corruption: one byte flipped in every chunk, size and modification time unchanged.
      const file = await open(copy, 'r+');
      for (let offset = 100; offset < SIZE; offset += CHUNK_SIZE) await file.write(Buffer.from([0xff]), 0, 1, offset);
      await file.close();
      await utimes(copy, 1_700_000_000, 1_700_000_000);
      const banned: string[] = [];
      const out = join(dir, 'fetched', 'banned.bin');
      // One request at a time per holder: the bad one is sure to be asked for a chunk while some remain.
      const result = await fetchContent({ libp2p: fetcher.node.libp2p, store: fetcher.content.store, cid: parseCid(cid), out, logger: testLogger, findProviders: false, windowPerPeer: 1, streamsPerPeer: 1, peers: [multiaddr(bad.address), multiaddr(first.address)], onBanned: (peer) => banned.push(peer) });
      assert.deepEqual(result.banned, [bad.node.peerId]);
      assert.deepEqual(banned, [bad.node.peerId]);
      assert.equal(result.peers.find((peer) => peer.peerId === bad.node.peerId)?.status, 'banned');
      assert.equal(await sha256OfFile(out), sourceHash);
    } finally {
      await bad.stop();
    }
  });

  it('finishes from the remaining holder when one disappears mid-fetch', async () => {
    const leaving = await startTestPeer(dir, 'leaving');
    try {
      await leaving.content.store.add(source, { inPlace: true });
      const out = join(dir, 'fetched', 'leaving.bin');
      let stopping: Promise<void> | undefined;
      const result = await fetchContent({
        libp2p: fetcher.node.libp2p,
        store: fetcher.content.store,
        cid: parseCid(cid),
        out,
        logger: testLogger,
        findProviders: false,
        // One request at a time per holder, so the kill finds most of the file still to come.
        windowPerPeer: 1,
        streamsPerPeer: 1,
        progressIntervalMs: 0,
        peers: [multiaddr(leaving.address), multiaddr(second.address)],
        onProgress: (progress) => {
          if (!stopping && progress.bytes > SIZE / 4) stopping = leaving.kill();
        },
      });
      await stopping;
      assert.ok(stopping, 'the holder was killed during the fetch');
      assert.equal(await sha256OfFile(out), sourceHash);
      const report = result.peers.find((peer) => peer.peerId === leaving.node.peerId);
      assert.equal(report?.status, 'gone');
      assert.ok(report.bytes > 0);
      assert.deepEqual(result.banned, []);
    } finally {
      await leaving.stop();
    }
  });

  it('resumes an interrupted fetch without downloading the chunks it had verified', async () => {
    const out = join(dir, 'fetched', 'resumed.bin');
    const controller = new AbortController();
    const options = { libp2p: fetcher.node.libp2p, store: fetcher.content.store, cid: parseCid(cid), out, logger: testLogger, findProviders: false, windowPerPeer: 1, peers: [multiaddr(first.address)] };
    await assert.rejects(
      fetchContent({ ...options, signal: controller.signal, progressIntervalMs: 0, onProgress: (progress) => (progress.bytes >= SIZE / 2 ? controller.abort() : undefined) }),
      { name: 'AbortError' },
    );
    const state = await stat(fetchStatePathOf(`${out}.part`));
    assert.ok(state.size > 0, 'the verified chunks were recorded');
    const resumed = await fetchContent(options);
    assert.ok(resumed.reusedBytes >= SIZE / 2 - CHUNK_SIZE, `reused ${resumed.reusedBytes}`);
    assert.equal(resumed.fetchedBytes + resumed.reusedBytes, SIZE, 'every byte was downloaded exactly once over the two attempts');
    assert.equal(await sha256OfFile(out), sourceHash);
    await assert.rejects(stat(fetchStatePathOf(`${out}.part`)), { code: 'ENOENT' });
  });

  it('fetches a model named by content id for the provider hook, reporting progress, and reuses it afterwards', async () => {
    const model = join(dir, 'tiny.gguf');
    const modelHash = await writeDeterministicFile(model, 3 * CHUNK_SIZE + 5, 13);
    const { cid: modelCid } = await second.content.store.add(model);
    for (let tries = 0; !second.content.providedRoots.includes(modelCid) && tries < 100; tries++) await new Promise((resolve) => setTimeout(resolve, 100));
    const reports: string[] = [];
    const path = await fetcher.content.fetchModel({ name: 'tiny model', cid: modelCid }, (message) => reports.push(message));
    assert.match(path, /content\/models\/bafy\w+\/tiny_model\.gguf$/);
    assert.equal(await sha256OfFile(path), modelHash);
    assert.match(reports.at(-1) ?? '', /model tiny model fetched: \d+ bytes from \d peer\(s\), every chunk verified/);
    const again: string[] = [];
    assert.equal(await fetcher.content.fetchModel({ name: 'tiny model', cid: modelCid }, (message) => again.push(message)), path);
    assert.deepEqual(again, [], 'a model already held is not fetched again');
  });

  it('fetches a one-chunk file, whose content id is its raw leaf', async () => {
    const small = join(dir, 'small.txt');
    await writeDeterministicFile(small, 1000, 7);
    const added = await second.content.store.add(small);
    assert.match(added.cid, /^bafkrei/);
    const out = join(dir, 'fetched', 'small.txt');
    const result = await fetchContent({ libp2p: fetcher.node.libp2p, store: fetcher.content.store, cid: parseCid(added.cid), out, logger: testLogger, findProviders: false, peers: [multiaddr(second.address)] });
    assert.equal(result.size, 1000);
    assert.equal(await sha256OfFile(out), await sha256OfFile(small));
  });

  it('refuses a file over maxBytes on its root node, before any of its chunks is downloaded', async () => {
    const out = join(dir, 'fetched', 'capped.bin');
    await assert.rejects(
      fetchContent({ libp2p: fetcher.node.libp2p, store: fetcher.content.store, cid: parseCid(cid), out, logger: testLogger, findProviders: false, peers: [multiaddr(first.address)], maxBytes: SIZE - 1 }),
      { name: 'ContentTooLargeError', code: 'model_unavailable' },
    );
    await assert.rejects(stat(`${out}.part`), { code: 'ENOENT' }, 'no space was taken for it');
  });

  it('fails with NoProvidersError when no peer holds the content', async () => {
    const unknown = new ContentStore(join(dir, 'scratch'));
    const other = join(dir, 'other.bin');
    await writeDeterministicFile(other, 3 * CHUNK_SIZE, 9);
    const { cid: missing } = await unknown.add(other, { inPlace: true });
    await assert.rejects(
      fetchContent({ libp2p: fetcher.node.libp2p, store: fetcher.content.store, cid: parseCid(missing), out: join(dir, 'fetched', 'missing.bin'), logger: testLogger, findProviders: false, providerRounds: 0, peers: [multiaddr(first.address)] }),
      { name: 'NoProvidersError' },
    );
  });
});

/**
 * A holder that serves a real store's blocks but answers each want a few milliseconds late, so that wants pile up
 * as far as the fetcher's window lets them, and counts the leaf bytes it held asked for and unanswered at once (over
 * all its streams). It can also lie (flip the first byte of each leaf from `lieFrom` bytes into the file on), or stay
 * silent (never answer a want).
 */
async function startScriptedHolder(store: ContentStore, options: { delayMs: number; lieFrom?: number; silent?: boolean }) {
  const node = await createDiscoveryNode({ key: generateNodeKey(), logger: testLogger, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], allow: ['/ip4/127.0.0.1'] });
  const seen = { outstandingBytes: 0, maxOutstandingBytes: 0, wants: 0, lies: 0, outstandingAtFirstLie: 0 };
  await node.libp2p.handle(CONTENT_PROTOCOL, async (stream) => {
    // Wants are read as they arrive (so they count as outstanding at once) and answered in order, one by one.
    const queue: ExchangeHeader[] = [];
    let wake: (() => void) | undefined;
    let ended = false;
    void (async () => {
      for await (const { header } of new FrameReader(stream)) {
        if (header.type === 'want') {
          seen.wants++;
          seen.outstandingBytes += header.length ?? 0;
          seen.maxOutstandingBytes = Math.max(seen.maxOutstandingBytes, seen.outstandingBytes);
        }
        queue.push(header);
        wake?.();
      }
    })()
      .catch(() => undefined)
      .finally(() => {
        ended = true;
        wake?.();
      });
    try {
      for (let answered = 0; answered < 100_000; answered++) {
        while (!queue.length && !ended) await new Promise<void>((resolve) => (wake = resolve));
        const header = queue.shift();
        if (!header) return;
        if (header.type === 'have') {
          const manifest = await store.manifest(header.root);
          await sendFrame(stream, manifest ? { type: 'has', root: header.root, size: manifest.size } : { type: 'dont-have', root: header.root });
          continue;
        }
        // A silent holder has the content, takes wants and never answers one.
        if (header.type !== 'want' || options.silent) continue;
        await new Promise((resolve) => setTimeout(resolve, options.delayMs));
        let bytes: Uint8Array;
        if (header.offset !== undefined && header.length !== undefined) {
          bytes = Buffer.from(await store.readRange(header.root, header.offset, header.length));
          const lies = options.lieFrom !== undefined && header.offset + header.length > options.lieFrom;
          // The first lie waits (bounded) until another want queues behind it: on a loaded machine the fetcher may
          // not have sent the next one yet, and the lie is to come while others wait at the liar.
          for (let waited = 0; lies && !seen.lies && seen.outstandingBytes <= header.length && waited < 2_000; waited += 5) {
            await new Promise((resolve) => setTimeout(resolve, 5));
          }
          for (let at = header.offset; options.lieFrom !== undefined && at < header.offset + header.length; at += CHUNK_SIZE) {
            if (at < options.lieFrom) continue;
            // Bytes other than this answer's own that were asked for and wait behind it.
            if (!seen.lies++) seen.outstandingAtFirstLie = seen.outstandingBytes - header.length;
            bytes[at - header.offset]! ^= 0xff;
          }
          seen.outstandingBytes -= header.length;
        } else bytes = (await store.getBlock(parseCid(header.cid)))!;
        await sendFrame(stream, { type: 'block', id: header.id, cid: header.cid }, bytes);
      }
    } catch {
      stream.abort(new Error('scripted holder stopped'));
    }
  });
  const address = node.multiaddrs().find((candidate) => candidate.includes('/tcp/') && !candidate.includes('/ws'))!;
  return { node, seen, address };
}

describe('pipelined wants to a holder', () => {
  /** 64 leaves: enough that a holder is sure to be asked for leaves past its first window. */
  const LEAVES = 64;
  let dir: string;
  let source: string;
  let sourceHash: string;
  let cid: string;
  let store: ContentStore;
  let fetcher: TestPeer;
  const started: Array<{ node: { stop(): Promise<void> } }> = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infernet-window-'));
    source = join(dir, 'model.bin');
    sourceHash = await writeDeterministicFile(source, LEAVES * CHUNK_SIZE - 777, 21);
    store = new ContentStore(join(dir, 'holder'));
    cid = (await store.add(source, { inPlace: true })).cid;
    fetcher = await startTestPeer(dir, 'fetcher');
  });
  after(async () => {
    for (const holder of started) await holder.node.stop();
    await fetcher?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps several leaves in flight to a holder and never more than windowPerPeer leaves, over all its streams', async () => {
    const holder = await startScriptedHolder(store, { delayMs: 3 });
    started.push(holder);
    const out = join(dir, 'fetched', 'window.bin');
    // 5 over 2 streams: the old lanes (ceil(5 / 2) per stream) kept 6 in flight. Bounded memory: at most 5 leaves'
    // bytes asked for at once, however they are grouped into wants.
    await fetchContent({ libp2p: fetcher.node.libp2p, store: fetcher.content.store, cid: parseCid(cid), out, logger: testLogger, findProviders: false, windowPerPeer: 5, streamsPerPeer: 2, peers: [multiaddr(holder.address)] });
    assert.equal(await sha256OfFile(out), sourceHash);
    const most = holder.seen.maxOutstandingBytes / CHUNK_SIZE;
    assert.ok(most >= 2, `the leaves were pipelined (at most ${most} in flight)`);
    assert.ok(most <= 5, `at most windowPerPeer leaves in flight, saw ${most}`);
    assert.ok(holder.seen.wants < LEAVES, `consecutive leaves went out together (${holder.seen.wants} wants for ${LEAVES} leaves)`);
  });

  it('drops a holder that lies about a leaf in the middle of its window and completes from another, every leaf verified', async () => {
    // It lies about every leaf from the 9th on: its first window (leaves among the first eight) is honest, so the
    // lie comes while later wants wait behind it.
    const liar = await startScriptedHolder(store, { delayMs: 2, lieFrom: 8 * CHUNK_SIZE });
    const honest = await startScriptedHolder(store, { delayMs: 2 });
    started.push(liar, honest);
    const out = join(dir, 'fetched', 'liar.bin');
    const banned: string[] = [];
    const result = await fetchContent({
      libp2p: fetcher.node.libp2p,
      store: fetcher.content.store,
      cid: parseCid(cid),
      out,
      logger: testLogger,
      findProviders: false,
      windowPerPeer: 8,
      streamsPerPeer: 2,
      peers: [multiaddr(liar.address), multiaddr(honest.address)],
      onBanned: (peer) => banned.push(peer),
    });
    assert.ok(liar.seen.lies >= 1, 'the liar was asked for a leaf it lies about');
    assert.ok(liar.seen.outstandingAtFirstLie > 0, `other leaves were waiting at the liar when it lied (${liar.seen.outstandingAtFirstLie} bytes)`);
    assert.deepEqual(banned, [liar.node.peerId]);
    assert.deepEqual(result.banned, [liar.node.peerId]);
    assert.equal(result.peers.find((peer) => peer.peerId === liar.node.peerId)?.status, 'banned');
    assert.equal(await sha256OfFile(out), sourceHash);
    assert.equal(result.size, LEAVES * CHUNK_SIZE - 777);
  });

  it('does not wait on a holder that never answers: the end game asks another holder for its leaves', { timeout: 120_000 }, async () => {
    const silent = await startScriptedHolder(store, { delayMs: 0, silent: true });
    const honest = await startScriptedHolder(store, { delayMs: 1 });
    started.push(silent, honest);
    const out = join(dir, 'fetched', 'silent.bin');
    // The silent holder is never timed out during the test: only the end game can finish the fetch.
    const result = await fetchContent({
      libp2p: fetcher.node.libp2p,
      store: fetcher.content.store,
      cid: parseCid(cid),
      out,
      logger: testLogger,
      findProviders: false,
      requestTimeoutMs: 10 * 60_000,
      peers: [multiaddr(silent.address), multiaddr(honest.address)],
    });
    assert.ok(silent.seen.wants > 0, 'the silent holder was asked for leaves');
    assert.equal(await sha256OfFile(out), sourceHash);
    assert.equal(result.peers.find((peer) => peer.peerId === silent.node.peerId)?.bytes ?? 0, 0);
    assert.deepEqual(result.banned, []);
  });
});
