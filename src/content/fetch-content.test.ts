// Fetching by content id between real libp2p nodes on loopback: holders found in the DHT, a bad holder banned,
// a vanished holder's share taken by the others, an interrupted fetch resumed from what it had verified.
import assert from 'node:assert/strict';
import { mkdtemp, open, rm, stat, utimes } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { multiaddr } from '@multiformats/multiaddr';
import { CHUNK_SIZE } from './constants.js';
import { ContentStore, parseCid, sha256OfFile } from './content-store.js';
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
