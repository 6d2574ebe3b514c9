import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DiscoveredProviderLinks } from './discovered-provider-links.js';

/** A link that records its endpoint and whether it was stopped: the bookkeeping is what is under test. */
class RecordedLink {
  stopped = false;
  connected = false;
  constructor(readonly endpoint: string) {}
  stop(): void {
    this.stopped = true;
  }
}

function linksOf(maxLinks: number) {
  const opened: RecordedLink[] = [];
  const links = new DiscoveredProviderLinks(
    (endpoint) => {
      const link = new RecordedLink(endpoint);
      opened.push(link);
      return link;
    },
    maxLinks,
    (link) => link.connected,
  );
  const live = () => opened.filter((link) => !link.stopped).map((link) => link.endpoint);
  return { links, opened, live };
}

describe('links to discovered providers', () => {
  it('keeps one link for a provider that announces a new endpoint in each of 50 records', () => {
    const { links, opened, live } = linksOf(256);
    for (let i = 0; i < 50; i++) links.follow('attacker', `ws://10.0.0.${i}:7420`);
    assert.deepEqual(live(), ['ws://10.0.0.49:7420']);
    assert.equal(opened.length, 50, 'each endpoint in turn, the one before stopped');
    assert.equal(links.size, 1);
  });

  it('dials no more than its limit of endpoints, whatever the number of keys naming them', () => {
    const { links, live } = linksOf(8);
    const results = Array.from({ length: 1000 }, (_, i) => links.follow(`sybil-${i}`, `ws://10.0.${i >> 8}.${i & 255}:7420`));
    assert.equal(live().length, 8);
    assert.equal(results.filter((result) => result === 'full').length, 992);
  });

  it('shares a link between providers naming one endpoint, and stops it when the last of them is gone', () => {
    const { links, live } = linksOf(8);
    assert.equal(links.follow('a', 'ws://10.0.0.1:7420'), 'linked');
    assert.equal(links.follow('b', 'ws://10.0.0.1:7420'), 'shared');
    assert.equal(links.follow('a', 'ws://10.0.0.1:7420'), 'unchanged');
    links.forget('a');
    assert.deepEqual(live(), ['ws://10.0.0.1:7420']);
    links.forget('b');
    assert.deepEqual(live(), []);
    assert.equal(links.follow('c', 'ws://10.0.0.2:7420'), 'linked', 'a freed place is taken again');
  });

  it("keeps a connected link when the provider's record names another endpoint, and follows it once that link is down", () => {
    const { links, opened, live } = linksOf(8);
    const libp2p = 'libp2p://12D3KooWProvider';
    assert.equal(links.follow('natted', libp2p), 'linked');
    opened[0]!.connected = true;
    // Its relay reservation lapsed for a moment: its record names its unreachable ws:// endpoint.
    assert.equal(links.follow('natted', 'ws://192.168.1.7:7420'), 'kept');
    assert.deepEqual(live(), [libp2p], 'the working session is not dropped');
    links.followPending();
    assert.deepEqual(live(), [libp2p], 'still connected: still kept');
    // The reservation is back before the link ever dropped: nothing was dialled.
    assert.equal(links.follow('natted', libp2p), 'unchanged');
    links.followPending();
    assert.equal(opened.length, 1);
    // Moved for real: the old link goes down, and the next look follows the new endpoint.
    assert.equal(links.follow('natted', 'ws://203.0.113.9:7420'), 'kept');
    opened[0]!.connected = false;
    links.followPending();
    assert.deepEqual(live(), ['ws://203.0.113.9:7420']);
  });

  it('follows a new endpoint at once when the link to the old one is not connected', () => {
    const { links, live } = linksOf(8);
    links.follow('p', 'ws://10.0.0.1:7420');
    assert.equal(links.follow('p', 'ws://10.0.0.2:7420'), 'linked');
    assert.deepEqual(live(), ['ws://10.0.0.2:7420']);
  });
});
