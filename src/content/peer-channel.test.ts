// A holder that closes its content stream while the fetcher is still waiting to send wants to it: every waiting
// want fails with PeerGoneError (the fetch sends those blocks elsewhere) and no promise is left rejected unhandled
// (which ended `infernet content get` when a holder was killed mid-transfer). Real libp2p nodes on loopback.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { multiaddr } from '@multiformats/multiaddr';
import type { Stream } from '@libp2p/interface';
import { createDiscoveryNode, type DiscoveryNode } from '../discovery/index.js';
import { generateNodeKey } from '../identity/index.js';
import { CONTENT_PROTOCOL } from './constants.js';
import { parseCid } from './content-store.js';
import { PeerChannel, PeerGoneError } from './peer-channel.js';
import { testLogger } from './testing.js';

const ROOT = parseCid('bafkreif5qqyrn5td5evt5fvm5dhp2zvka34bcau7wzsrghmagej6gp7req');
/** Wants of ~170 bytes each: several times yamux's 256 KiB initial window, so later sends wait for a drain. */
const WANTS = 6_000;

describe('a content channel whose holder closes the stream while wants wait to be sent', () => {
  let holder: DiscoveryNode;
  let fetcher: DiscoveryNode;
  let holderStream: Promise<Stream>;

  before(async () => {
    const start = () => createDiscoveryNode({ key: generateNodeKey(), logger: testLogger, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: [], allow: ['/ip4/127.0.0.1'] });
    holder = await start();
    fetcher = await start();
    // The holder reads nothing: the fetcher's send window fills and its later wants wait for a drain.
    holderStream = new Promise((resolve) =>
      void holder.libp2p.handle(CONTENT_PROTOCOL, (stream) => {
        stream.pause();
        resolve(stream);
      }),
    );
  });
  after(async () => {
    await fetcher?.stop();
    await holder?.stop();
  });

  it('fails every waiting want with PeerGoneError and leaves no rejection unhandled', async () => {
    const unhandled: unknown[] = [];
    const onRejection = (reason: unknown) => unhandled.push(reason);
    process.on('unhandledRejection', onRejection);
    try {
      const address = holder.multiaddrs().find((candidate) => candidate.includes('/tcp/') && !candidate.includes('/ws'))!;
      const channel = await PeerChannel.open(fetcher.libp2p, multiaddr(address), 30_000);
      const wants = Array.from({ length: WANTS }, (_, index) => channel.want({ root: ROOT, cid: ROOT, offset: index, length: 1 }));
      const stream = await holderStream;
      await new Promise((resolve) => setTimeout(resolve, 200));
      await stream.close();
      const settled = await Promise.allSettled(wants);
      await new Promise((resolve) => setTimeout(resolve, 100));
      assert.deepEqual(unhandled.map((reason) => (reason as Error).message), [], 'no rejection went unhandled');
      assert.ok(settled.every((outcome) => outcome.status === 'rejected' && outcome.reason instanceof PeerGoneError), 'every want failed as the peer gone');
      assert.equal(channel.isOpen, false);
    } finally {
      process.off('unhandledRejection', onRejection);
    }
  });
});
