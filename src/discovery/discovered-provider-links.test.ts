import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DiscoveredProviderLinks } from './discovered-provider-links.js';

/** A link that records its endpoint and whether it was stopped: the bookkeeping is what is under test. */
class RecordedLink {
  stopped = false;
  constructor(readonly endpoint: string) {}
  stop(): void {
    this.stopped = true;
  }
}

function linksOf(maxLinks: number) {
  const opened: RecordedLink[] = [];
  const links = new DiscoveredProviderLinks((endpoint) => {
    const link = new RecordedLink(endpoint);
    opened.push(link);
    return link;
  }, maxLinks);
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
});
