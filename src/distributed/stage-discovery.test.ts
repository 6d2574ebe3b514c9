import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateNodeConfig } from '../config/index.js';
import { generateNodeKey } from '../identity/index.js';
import { isWildcardUrl, stageOfferOf } from './stage-discovery.js';

const head = generateNodeKey();
const configWith = (worker: Record<string, unknown>) => validateNodeConfig({ distributed: { worker: { heads: 'any', sandbox: 'none', memoryMb: 2048, threads: 2, ...worker } } }, 'test');

describe('the stage offer a provider announces', () => {
  it('names its listener, what a stage gets, and no head list when open to any head', () => {
    assert.deepEqual(stageOfferOf(configWith({}), { url: 'ws://127.0.0.1:7430' }), { endpoint: 'ws://127.0.0.1:7430', threads: 2, memoryBytes: 2048 * 2 ** 20, maxStages: 1, sandbox: 'none' });
  });

  it('lists the heads it answers, as hex keys', () => {
    assert.deepEqual(stageOfferOf(configWith({ heads: [head.npub] }), { url: 'ws://127.0.0.1:7430' })?.heads, [head.publicKey]);
  });

  it('announces publicUrl instead of the listener when set', () => {
    assert.equal(stageOfferOf(configWith({ host: '0.0.0.0', publicUrl: 'wss://stages.example:443' }), { url: 'ws://0.0.0.0:7430' })?.endpoint, 'wss://stages.example:443');
  });

  it('announces nothing for a listener on every interface without publicUrl, none when told not to, none without a stage service', () => {
    assert.equal(stageOfferOf(configWith({ host: '0.0.0.0' }), { url: 'ws://0.0.0.0:7430' }), undefined);
    assert.equal(stageOfferOf(configWith({ announce: false }), { url: 'ws://127.0.0.1:7430' }), undefined);
    assert.equal(stageOfferOf(configWith({}), undefined), undefined);
    assert.equal(stageOfferOf(validateNodeConfig({}, 'test'), { url: 'ws://127.0.0.1:7430' }), undefined);
  });

  it('behind NAT (a libp2p:// job endpoint) offers its stages at that endpoint, whatever its listener\'s address; publicUrl still wins', () => {
    const endpoint = 'libp2p://12D3KooWStage11111111111111111111111111111111111111111';
    assert.equal(stageOfferOf(configWith({ host: '0.0.0.0' }), { url: 'ws://0.0.0.0:7430' }, endpoint)?.endpoint, endpoint);
    assert.equal(stageOfferOf(configWith({}), { url: 'ws://10.0.0.2:7430' }, endpoint)?.endpoint, endpoint);
    assert.equal(stageOfferOf(configWith({ host: '0.0.0.0', publicUrl: 'wss://stages.example:443' }), { url: 'ws://0.0.0.0:7430' }, endpoint)?.endpoint, 'wss://stages.example:443');
    assert.equal(stageOfferOf(configWith({ host: '0.0.0.0' }), { url: 'ws://0.0.0.0:7430' }, 'ws://203.0.113.5:7400'), undefined, 'a public job endpoint: the wildcard listener is not announced');
  });

  it('tells wildcard listener URLs from dialable ones', () => {
    assert.deepEqual(['ws://0.0.0.0:1', 'ws://[::]:1', 'ws://127.0.0.1:1', 'wss://a.example:1'].map(isWildcardUrl), [true, true, false, false]);
  });
});
