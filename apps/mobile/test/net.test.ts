// Pure parts of the network layer as the app bundles them (Babel, React Native's runtime); the layer as a whole
// runs against a real daemon in test/e2e/mobile-network.test.ts at the repository root.
import { parseNodeFrame } from '../src/net/frames';
import { checkSocketSecurity, notificationFor, NodeSessionError, phoneKeyFromNsec, nsecOf, generatePhoneKey } from '../src/net/index';
import { openJobResult, seal, sealJobSpec, unseal } from '../src/net/envelopes';
import { getConversationKey } from 'nostr-tools/nip44';

describe('the socket security rule', () => {
  it.each(['ws://127.0.0.1:7420', 'ws://localhost:7420', 'ws://192.168.1.20:7420', 'ws://10.1.2.3:7420', 'ws://172.20.0.2:7420', 'ws://node.local:7420', 'ws://[::1]:7420', 'wss://node.example.org'])('allows %s', (url) => {
    expect(() => checkSocketSecurity(url)).not.toThrow();
  });
  it.each(['ws://node.example.org:7420', 'ws://8.8.8.8:7420', 'ws://172.32.0.1:7420'])('refuses plain %s', (url) => {
    expect(() => checkSocketSecurity(url)).toThrow(NodeSessionError);
    expect(() => checkSocketSecurity(url)).toThrow(/must be reached over wss:\/\//);
  });
});

describe('notifications for job events', () => {
  it('tell of a running, completed or failed job, and of nothing else', () => {
    expect(notificationFor({ type: 'status', jobId: 'j', status: 'running', at: 1 }, 'm')?.kind).toBe('running');
    expect(notificationFor({ type: 'status', jobId: 'j', status: 'matched', at: 1 }, 'm')).toBeNull();
    expect(notificationFor({ type: 'text', jobId: 'j', text: 'a', output: 'a' }, 'm')).toBeNull();
    const long = 'x'.repeat(200);
    expect(notificationFor({ type: 'completed', jobId: 'j', at: 1, output: long, tokens: 9, finishReason: 'length', provider: 'p', engine: 'e', totalMs: 1 }, 'm')).toEqual({ jobId: 'j', kind: 'completed', title: 'm: done (9 tokens)', body: `${'x'.repeat(120)}…` });
    expect(notificationFor({ type: 'failed', jobId: 'j', at: 1, code: 'grant_refused', message: 'max tokens' }, 'm')?.body).toBe('grant_refused: max tokens');
  });
});

describe('frames and envelopes in the app runtime', () => {
  it('parses node frames with the node schemas and refuses malformed ones', () => {
    expect(parseNodeFrame('{"v":1,"type":"push.registered","platform":"expo"}')).toEqual({ v: 1, type: 'push.registered', platform: 'expo' });
    expect(() => parseNodeFrame('{"v":9,"type":"heartbeat","ts":1}')).toThrow(/unsupported protocol version 9/);
    expect(() => parseNodeFrame('{"v":1,"type":"job.accept"}')).toThrow(/invalid job.accept frame/);
  });

  it('seals payloads past the NIP-44 size limit and keeps multi-byte characters whole', () => {
    const alice = generatePhoneKey();
    const bob = generatePhoneKey();
    const text = 'é'.repeat(40_000) + '🦙'.repeat(5_000);
    expect(unseal(seal(text, getConversationKey(alice.secretKey, bob.publicKey)), getConversationKey(bob.secretKey, alice.publicKey))).toBe(text);
  });

  it('refuses a result that the provider did not sign for this phone', () => {
    const phone = generatePhoneKey();
    const provider = generatePhoneKey();
    const spec = sealJobSpec(phone, provider.publicKey, { jobId: 'job-12345678', model: { name: 'm' }, input: { prompt: 'x' }, sampling: { temperature: 0, maxTokens: 8 }, deadline: Date.now() + 1000, verification: { kind: 'none' } });
    // A spec event is not a result: the wrong kind, signed by the wrong key.
    expect(() => openJobResult(phone, spec, provider.publicKey, 'job-12345678')).toThrow(/event signed by|kind/);
  });

  it('round-trips the phone key through its nsec', () => {
    const key = generatePhoneKey();
    expect(phoneKeyFromNsec(nsecOf(key)).npub).toBe(key.npub);
    expect(() => phoneKeyFromNsec('npub1abc')).toThrow(/not an nsec/);
  });
});
