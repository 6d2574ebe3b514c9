import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { finalizeEvent, generateSecretKey, getPublicKey } from 'nostr-tools/pure';
import { buildInfoEvent, buildRequestEvent, buildResponseEvent, encryptContent, encryptionFromInfo, NWC_REQUEST_KIND, openRequest, openResponse, type NwcEncryption } from './nwc-messages.js';

const service = generateSecretKey();
const servicePubkey = getPublicKey(service);
const client = generateSecretKey();
const request = { method: 'pay_invoice', params: { invoice: 'lnbcrt1...' } };

describe('NIP-47 messages', () => {
  for (const encryption of ['nip44_v2', 'nip04'] as NwcEncryption[]) {
    it(`carries a request and its response both ways with ${encryption}`, () => {
      const event = buildRequestEvent({ clientSecret: client, walletPubkey: servicePubkey, encryption, request });
      assert.equal(event.kind, NWC_REQUEST_KIND);
      assert.ok(!event.content.includes('lnbcrt'), 'the invoice is not readable on the relay');
      const opened = openRequest(event, service);
      assert.ok(opened.ok);
      assert.deepEqual(opened.request, request);
      assert.equal(opened.encryption, encryption);
      assert.equal(opened.clientPubkey, getPublicKey(client));
      const response = buildResponseEvent({ serviceSecret: service, clientPubkey: opened.clientPubkey, requestId: opened.id, encryption, response: { result_type: 'pay_invoice', error: null, result: { preimage: 'ab' } } });
      assert.deepEqual(response.tags.find((tag) => tag[0] === 'e'), ['e', event.id]);
      assert.deepEqual(openResponse(response, client, encryption)?.result, { preimage: 'ab' });
    });
  }

  it('chooses NIP-44 only when the info event offers it', () => {
    assert.equal(encryptionFromInfo(buildInfoEvent(service, ['pay_invoice'])), 'nip44_v2');
    assert.equal(encryptionFromInfo(finalizeEvent({ kind: 13194, created_at: 1, content: 'pay_invoice', tags: [] }, service)), 'nip04');
    assert.equal(encryptionFromInfo(undefined), 'nip04');
  });

  const refused: Array<{ name: string; event: () => unknown; reason: RegExp; replies?: boolean }> = [
    { name: 'a tampered event (content changed after signing)', event: () => ({ ...buildRequestEvent({ clientSecret: client, walletPubkey: servicePubkey, encryption: 'nip44_v2', request }), content: 'AAAA' }), reason: /tampered/ },
    { name: 'an event re-signed by someone else under the client key', event: () => ({ ...buildRequestEvent({ clientSecret: generateSecretKey(), walletPubkey: servicePubkey, encryption: 'nip44_v2', request }), pubkey: getPublicKey(client) }), reason: /tampered/ },
    { name: 'content encrypted for another key', event: () => wronglyEncrypted(), reason: /cannot decrypt the content as nip44_v2/ },
    { name: 'garbage content', event: () => finalizeEvent({ kind: NWC_REQUEST_KIND, created_at: Math.floor(Date.now() / 1000), content: 'not encrypted', tags: [['p', servicePubkey]] }, client), reason: /cannot decrypt the content as nip04/ },
    { name: 'a request for another wallet service', event: () => buildRequestEvent({ clientSecret: client, walletPubkey: getPublicKey(generateSecretKey()), encryption: 'nip44_v2', request }), reason: /another wallet service/ },
    { name: 'an expired request', event: () => buildRequestEvent({ clientSecret: client, walletPubkey: servicePubkey, encryption: 'nip44_v2', request, expiresAt: 1000 }), reason: /expired/ },
    { name: 'a request made long before it arrived', event: () => buildRequestEvent({ clientSecret: client, walletPubkey: servicePubkey, encryption: 'nip44_v2', request, createdAt: Math.floor(Date.now() / 1000) - 600 }), reason: /stale: made 600 s ago/ },
    { name: 'an encryption the service does not speak', event: () => finalizeEvent({ kind: NWC_REQUEST_KIND, created_at: Math.floor(Date.now() / 1000), content: 'x', tags: [['p', servicePubkey], ['encryption', 'nip99']] }, client), reason: /unsupported encryption nip99/, replies: true },
    { name: 'something that is not an event', event: () => ({ kind: NWC_REQUEST_KIND }), reason: /not a well-formed/ },
  ];
  for (const { name, event, reason, replies } of refused) {
    it(`ignores ${name}, with a reason`, () => {
      const opened = openRequest(event(), service);
      assert.equal(opened.ok, false);
      if (opened.ok) return;
      assert.match(opened.reason, reason);
      assert.equal(opened.reply?.response.error?.code, replies ? 'UNSUPPORTED_ENCRYPTION' : undefined);
    });
  }
});

function wronglyEncrypted() {
  const content = encryptContent('nip44_v2', client, getPublicKey(generateSecretKey()), JSON.stringify(request));
  return finalizeEvent({ kind: NWC_REQUEST_KIND, created_at: Math.floor(Date.now() / 1000), content, tags: [['p', servicePubkey], ['encryption', 'nip44_v2']] }, client);
}
