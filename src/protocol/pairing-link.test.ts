import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatPairingLink, PairingLinkError, parsePairingLink, type PairingLink } from './pairing-link.js';

const NPUB = 'npub188ww5qypvjjlgmw98z3rtlr8tp6xnetfv3z0dsdx373hjsafh7ss6h68r4';

describe('pairing links', () => {
  it('carry node, socket, grant limits and the history account through text and back', () => {
    const link: PairingLink = {
      node: NPUB,
      ws: 'wss://node.example.org:443/infernet',
      grant: { id: 'd735426439b05975', models: ['stories260K', 'llama'], maxTokens: 256, jobsPerHour: 30, priceCap: '0.05 USDC per 1k_tokens', expiresAt: 1798225189641 },
      pocketbase: { url: 'https://node.example.org:8090', email: 'phone@phones.infernet.local', password: 'p&ss=word+/' },
    };
    const text = formatPairingLink(link);
    assert.match(text, /^infernet:\/\/pair\?node=npub1/);
    assert.deepEqual(parsePairingLink(text), link);
  });

  it('accept a bare socket URL with the npub typed by hand', () => {
    assert.deepEqual(parsePairingLink(` wss://10.0.0.2:7420#${NPUB} `), { ws: 'wss://10.0.0.2:7420', node: NPUB });
  });

  it('refuse what is not a pairing link, naming the problem', () => {
    assert.throws(() => parsePairingLink('https://example.com'), PairingLinkError);
    assert.throws(() => parsePairingLink(`infernet://pair?node=npub1xyz&ws=wss://a:1`), /no valid node npub/);
    assert.throws(() => parsePairingLink(`infernet://pair?node=${NPUB}&ws=http://a:1`), /not a ws:\/\/ or wss:\/\/ URL/);
    assert.throws(() => parsePairingLink(`infernet://pair?node=${NPUB}&ws=wss://a:1&grant=g&max=0&rate=1&exp=1`), /"max" is not a positive integer/);
    assert.throws(() => parsePairingLink(`infernet://pair?node=${NPUB}&ws=wss://a:1&pb=ftp://x`), /not http\(s\)/);
  });
});
