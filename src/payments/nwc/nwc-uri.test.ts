import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { NwcUriError } from './nwc-errors.js';
import { formatNwcUri, parseNwcUri } from './nwc-uri.js';

const WALLET = 'b889ff5b1513b641e2a139f661a661364979c5beee91842f8f0ef42ab558e9d4';
const SECRET = '71a8c14c1407c113601079c4302dab36460f0ccd0ad506f1f2dc73b5100e4f3c';

describe('NWC connection URIs', () => {
  const valid: Array<{ name: string; uri: string; relays: string[]; lud16?: string }> = [
    { name: "the spec's example (an encoded relay)", uri: `nostr+walletconnect://${WALLET}?relay=wss%3A%2F%2Frelay.damus.io&secret=${SECRET}`, relays: ['wss://relay.damus.io'] },
    { name: 'several relays, in order, and a lud16', uri: `nostr+walletconnect://${WALLET}?relay=wss://a.example&relay=ws://127.0.0.1:7777&secret=${SECRET}&lud16=me@example.com`, relays: ['wss://a.example', 'ws://127.0.0.1:7777'], lud16: 'me@example.com' },
    { name: 'the form without // and upper-case hex', uri: `nostr+walletconnect:${WALLET.toUpperCase()}?relay=wss://r.example&secret=${SECRET.toUpperCase()}`, relays: ['wss://r.example'] },
  ];
  for (const { name, uri, relays, lud16 } of valid) {
    it(`parses ${name}`, () => {
      assert.deepEqual(parseNwcUri(uri), { walletPubkey: WALLET, relays, secret: SECRET, ...(lud16 ? { lud16 } : {}) });
    });
  }

  const invalid: Array<{ name: string; uri: string; reason: RegExp }> = [
    { name: 'another scheme', uri: `nostr+wallet://${WALLET}?relay=wss://r.example&secret=${SECRET}`, reason: /must start with nostr\+walletconnect:/ },
    { name: 'a short wallet key', uri: `nostr+walletconnect://abc?relay=wss://r.example&secret=${SECRET}`, reason: /wallet public key "abc"/ },
    { name: 'an npub as the wallet key', uri: `nostr+walletconnect://npub1qqq?relay=wss://r.example&secret=${SECRET}`, reason: /wallet public key/ },
    { name: 'no relay', uri: `nostr+walletconnect://${WALLET}?secret=${SECRET}`, reason: /names no relay/ },
    { name: 'an https relay', uri: `nostr+walletconnect://${WALLET}?relay=https://r.example&secret=${SECRET}`, reason: /not a ws:\/\/ or wss:\/\/ URL/ },
    { name: 'no secret', uri: `nostr+walletconnect://${WALLET}?relay=wss://r.example`, reason: /no secret/ },
    { name: 'a secret that is not 32 bytes of hex', uri: `nostr+walletconnect://${WALLET}?relay=wss://r.example&secret=${SECRET.slice(2)}zz`, reason: /secret is not 64 hex/ },
    { name: 'an empty string', uri: '', reason: /must start with/ },
  ];
  for (const { name, uri, reason } of invalid) {
    it(`refuses ${name} with a NwcUriError`, () => {
      assert.throws(
        () => parseNwcUri(uri),
        (error: unknown) => error instanceof NwcUriError && reason.test(error.message),
      );
    });
  }

  it('formats a URI that parses back to the same connection', () => {
    const connection = { walletPubkey: WALLET, relays: ['ws://127.0.0.1:7000', 'wss://relay.example/path'], secret: SECRET };
    const uri = formatNwcUri(connection);
    assert.match(uri, /^nostr\+walletconnect:\/\/b889/);
    assert.deepEqual(parseNwcUri(uri), connection);
  });
});
