// Attack 9 of the threat model: content ids from remote peers joined into paths, and a resumed fetch trusting
// the bits it saved. A hostile libp2p peer on loopback asks a real serving node for a root named with `../`,
// every schema through which a content id enters from the wire is handed a traversal and a non-CID, and a fetch
// interrupted halfway has a leaf it had verified tampered with on disk before it resumes.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdir, mkdtemp, open, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { multiaddr } from '@multiformats/multiaddr';
import { CHUNK_SIZE, CONTENT_PROTOCOL, ContentStore, fetchContent, parseCid, sha256OfFile } from '../../src/content/index.js';
import { FrameReader, sendFrame, type ExchangeFrame, type ExchangeHeader } from '../../src/content/exchange-frames.js';
import { fetchStatePathOf } from '../../src/content/fetch-state.js';
import { startTestPeer, testLogger, writeDeterministicFile, type TestPeer } from '../../src/content/testing.js';
import { ModelServed } from '../../src/discovery/provider-record.js';
import { TunnelRequest } from '../../src/distributed/tunnel/tunnel-protocol.js';
import { ContentInput, ModelRef } from '../../src/protocol/index.js';

const SIZE = 12 * CHUNK_SIZE + 777;
/** From <home>/content/roots/ up to <home>: where the attacker planted its manifest. */
const TRAVERSAL = '../../planted';
const NOT_A_CID = 'definitely-not-a-cid';

describe('attack 9: content ids from peers are parsed as CIDs before any path is built', () => {
  let dir: string;
  let holder: TestPeer;
  let attacker: TestPeer;
  let secret: string;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infernet-adversary-content-'));
    holder = await startTestPeer(dir, 'holder');
    attacker = await startTestPeer(dir, 'attacker');
    // A file outside the store, and a manifest beside the holder's home that names it: what `../` would reach.
    secret = join(dir, 'secret.txt');
    await writeFile(secret, 'the holder keeps this to itself\n');
    const info = await stat(secret);
    await mkdir(holder.homeDir, { recursive: true });
    const planted = { v: 1, cid: TRAVERSAL, size: info.size, name: 'secret.txt', path: secret, inPlace: true, mtimeMs: info.mtimeMs, leaves: 1, addedAt: new Date().toISOString() };
    await writeFile(join(holder.homeDir, 'planted.json'), JSON.stringify(planted));
  });
  after(async () => {
    for (const peer of [holder, attacker]) await peer?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** Sends raw frames over the content protocol as a hostile peer, and collects whatever comes back. */
  async function exchange(headers: ExchangeHeader[]): Promise<{ frames: ExchangeFrame[]; error?: Error }> {
    const stream = await attacker.node.libp2p.dialProtocol(multiaddr(holder.address), CONTENT_PROTOCOL);
    const frames: ExchangeFrame[] = [];
    for (const header of headers) await sendFrame(stream, header);
    await stream.close().catch(() => undefined);
    try {
      for await (const frame of new FrameReader(stream)) {
        frames.push(frame);
        if (frames.length >= headers.length) break;
      }
    } catch (error) {
      return { frames, error: error as Error };
    }
    return { frames };
  }

  for (const [label, root] of [
    ['a ../ path', TRAVERSAL],
    ['a string that is no CID', NOT_A_CID],
  ] as const) {
    it(`a serving node refuses ${label} as a root and serves nothing from outside its store`, async () => {
      const { frames } = await exchange([
        { type: 'have', root },
        { type: 'want', id: 1, root, cid: root, offset: 0, length: 10 },
      ]);
      assert.ok(!frames.some((frame) => frame.header.type === 'has'), `the node claimed to hold ${root}: ${JSON.stringify(frames.map((f) => f.header))}`);
      assert.ok(!frames.some((frame) => frame.header.type === 'block'), `the node served bytes of ${root}: ${frames.map((f) => Buffer.from(f.body).toString()).join('')}`);
    });
  }

  it('the content store refuses a non-CID id with a clear error instead of reading a path', async () => {
    const store = new ContentStore(holder.homeDir);
    await assert.rejects(store.manifest(TRAVERSAL), { name: 'InvalidCidError', message: /is not a content id/ });
    await assert.rejects(store.manifest(NOT_A_CID), { name: 'InvalidCidError' });
    await assert.rejects(store.readRange(TRAVERSAL, 0, 10), { name: 'InvalidCidError' });
  });

  it('every schema through which a content id arrives from a peer refuses a traversal and a non-CID', () => {
    const good = 'bafkreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy';
    const entries: Array<[string, (cid: string) => unknown]> = [
      ['a head\'s stage.open modelCid', (cid) => TunnelRequest.parse({ action: 'stage.open', jobId: randomUUID(), modelCid: cid })],
      ['a job\'s ModelRef.cid', (cid) => ModelRef.parse({ name: 'm', cid })],
      ['a job\'s content input', (cid) => ContentInput.parse({ cid })],
      ['a provider record\'s model cid', (cid) => ModelServed.parse({ name: 'm', cid })],
    ];
    for (const [entry, parse] of entries) {
      assert.doesNotThrow(() => parse(good), `${entry} takes a real CID`);
      for (const bad of [TRAVERSAL, NOT_A_CID, `${good}/../../x`]) assert.throws(() => parse(bad), /content id/, `${entry} refuses ${bad}`);
    }
  });
});

describe('attack 9: a resumed fetch hashes again what it had marked verified', () => {
  let dir: string;
  let holder: TestPeer;
  let fetcher: TestPeer;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infernet-adversary-resume-'));
    holder = await startTestPeer(dir, 'holder');
    fetcher = await startTestPeer(dir, 'fetcher');
  });
  after(async () => {
    for (const peer of [holder, fetcher]) await peer?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('refetches a saved leaf tampered with on disk and ends with the right bytes', async () => {
    const source = join(dir, 'model.bin');
    const sourceHash = await writeDeterministicFile(source, SIZE, 5);
    const { cid } = await holder.content.store.add(source, { inPlace: true });
    const out = join(dir, 'fetched', 'model.bin');
    const controller = new AbortController();
    const options = { libp2p: fetcher.node.libp2p, store: fetcher.content.store, cid: parseCid(cid), out, logger: testLogger, findProviders: false, windowPerPeer: 1, streamsPerPeer: 1, peers: [multiaddr(holder.address)] };
    await assert.rejects(
      fetchContent({ ...options, signal: controller.signal, progressIntervalMs: 0, onProgress: (progress) => (progress.bytes >= SIZE / 2 ? controller.abort() : undefined) }),
      { name: 'AbortError' },
    );
    assert.ok((await stat(fetchStatePathOf(`${out}.part`))).size > 0, 'the verified leaves were recorded');
    // The first leaf was surely verified: flip a byte of it in the partial file, as a disk fault or a local attacker would.
    const part = await open(`${out}.part`, 'r+');
    const byte = Buffer.alloc(1);
    await part.read(byte, 0, 1, 10);
    await part.write(Buffer.from([byte[0]! ^ 0xff]), 0, 1, 10);
    await part.close();
    const resumed = await fetchContent(options);
    assert.equal(await sha256OfFile(out), sourceHash, 'the resumed fetch ends with the original bytes');
    assert.ok(resumed.fetchedBytes >= CHUNK_SIZE, 'the tampered leaf was downloaded again');
    assert.ok(resumed.reusedBytes > 0 && resumed.reusedBytes + resumed.fetchedBytes >= SIZE, `reused ${resumed.reusedBytes}, fetched ${resumed.fetchedBytes}`);
  });
});
