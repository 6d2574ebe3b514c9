import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { validateNodeConfig } from './index.js';

const npub = 'npub1sn0wdenkukak0d9dfczzeacvhkrgz92ak56egt7vdgzn8pv2wfqqhrjdv9';

describe('the distributed and interconnect config sections', () => {
  it('serves no stages and splits no model unless told to', () => {
    const config = validateNodeConfig({}, 'config.yaml');
    assert.deepEqual(config.distributed, { models: [] });
    assert.equal(config.interconnect, undefined);
  });

  it('fills a worker section with the sandboxed, loopback-only defaults', () => {
    const { distributed } = validateNodeConfig({ distributed: { worker: { heads: [npub] } } }, 'config.yaml');
    assert.deepEqual(distributed.worker, { host: '127.0.0.1', port: 7430, heads: [npub], announce: true, sandbox: 'docker', threads: 1, maxStages: 1, maxStageMinutes: 60, maxStageGb: 64, tensorCache: false });
  });

  it('takes a worker open to any head, and a model whose stages are found through discovery', () => {
    const { distributed } = validateNodeConfig({ distributed: { worker: { heads: 'any', announce: false, publicUrl: 'wss://stages.example:7430' }, models: [{ path: '/m/a.gguf', workers: 'discover' }] } }, 'config.yaml');
    assert.equal(distributed.worker?.heads, 'any');
    assert.equal(distributed.worker?.publicUrl, 'wss://stages.example:7430');
    assert.equal(distributed.models[0]?.workers, 'discover');
    assert.throws(() => validateNodeConfig({ distributed: { worker: { heads: 'everyone' } } }, 'c'), /distributed\.worker\.heads/);
  });

  it('reads a model split across workers, split chosen automatically unless named', () => {
    const { distributed } = validateNodeConfig({ distributed: { models: [{ path: '/m/a.gguf', workers: [{ url: 'ws://10.0.0.2:7430', npub }] }] } }, 'config.yaml');
    assert.equal(distributed.models[0]?.split, 'auto');
  });

  it('names the field and the problem of a bad entry', () => {
    assert.throws(() => validateNodeConfig({ distributed: { worker: { heads: [] } } }, 'c'), /distributed\.worker\.heads: name at least one head/);
    assert.throws(() => validateNodeConfig({ distributed: { worker: { heads: ['alice'] } } }, 'c'), /distributed\.worker\.heads\.0: must be an npub/);
    assert.throws(() => validateNodeConfig({ distributed: { models: [{ path: '/m', workers: [{ url: 'http://x', npub }] }] } }, 'c'), /distributed\.models\.0\.workers\.0\.url: must be a ws/);
    assert.throws(() => validateNodeConfig({ distributed: { models: [{ path: '/m', workers: [{ url: 'ws://x', npub }], split: 'row' }] } }, 'c'), /distributed\.models\.0\.split/);
    assert.throws(() => validateNodeConfig({ distributed: { worker: { heads: [npub], sandbox: 'chroot' } } }, 'c'), /distributed\.worker\.sandbox/);
  });
});
