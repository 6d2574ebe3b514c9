import assert from 'node:assert/strict';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ConfigError, loadNodeConfig, nodeHome, resolveHomeDir, validateNodeConfig } from './index.js';

describe('node configuration', () => {
  it('fills every default from an empty file', () => {
    const config = validateNodeConfig({}, 'config.yaml');
    assert.equal(config.role, 'all');
    assert.equal(config.listen.host, '127.0.0.1');
    assert.equal(config.limits.maxFrameBytes, 1024 * 1024);
    assert.equal(config.provider.slots, 1);
    assert.deepEqual(config.api, { host: '127.0.0.1', port: null }, 'no HTTP API unless a port is set');
  });
  it('names the field and the problem of a bad value', () => {
    assert.throws(() => validateNodeConfig({ limits: { maxFrameBytes: 10 } }, 'config.yaml'), /config\.yaml: limits\.maxFrameBytes: .*>=1024/);
    assert.throws(() => validateNodeConfig({ role: 'miner' }, 'c'), /role: .*provider/);
    assert.throws(() => validateNodeConfig({ connect: ['http://x'] }, 'c'), /connect\.0: must be a ws:\/\/ or wss:\/\/ URL/);
  });
  it('reads reputation relays and trusted raters, and refuses a relay that is not a WebSocket URL', () => {
    const config = validateNodeConfig({ reputation: { relays: ['ws://127.0.0.1:7777'], trust: ['a'.repeat(64)] }, verification: { defaultPolicy: { kind: 'sampled', p: 0.1 } } }, 'c');
    assert.deepEqual([config.reputation.relays, config.reputation.halfLifeDays, config.verification.fingerprintTopK], [['ws://127.0.0.1:7777'], 30, 4]);
    assert.throws(() => validateNodeConfig({ reputation: { relays: ['https://relay'] } }, 'c'), /reputation\.relays\.0: must be a ws:\/\/ or wss:\/\/ URL/);
    assert.throws(() => validateNodeConfig({ reputation: { trust: ['alice'] } }, 'c'), /reputation\.trust\.0: must be an npub/);
  });
  it("offloads every layer to a GPU unless provider.gpuLayers chooses a partial offload; llama.cpp's 'auto' is not offered", () => {
    assert.equal(validateNodeConfig({}, 'c').provider.gpuLayers, 'all');
    assert.equal(validateNodeConfig({ provider: { gpuLayers: 20 } }, 'c').provider.gpuLayers, 20);
    assert.throws(() => validateNodeConfig({ provider: { gpuLayers: 'auto' } }, 'c'), /provider\.gpuLayers/);
    assert.throws(() => validateNodeConfig({ provider: { gpuLayers: -1 } }, 'c'), /provider\.gpuLayers/);
  });
  it('names an unknown field instead of ignoring a typo', () =>
    assert.throws(() => validateNodeConfig({ provider: { slot: 2 } }, 'c'), /provider: .*slot/));
  it('reads YAML and JSON homes and reports invalid syntax with the file name', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'home-'));
    await writeFile(join(dir, 'config.yaml'), 'role: provider\nlisten:\n  port: 9000\n');
    const config = await loadNodeConfig(nodeHome(dir));
    assert.equal(config.role, 'provider');
    assert.equal(config.listen.port, 9000);
    await writeFile(join(dir, 'config.json'), '{"role": ');
    await assert.rejects(loadNodeConfig(nodeHome(dir)), (error: Error) => error instanceof ConfigError && /config\.json: not valid JSON/.test(error.message));
  });
  it('resolves the home from the flag, then INFERNET_HOME, then ~/.infernet', () => {
    assert.equal(resolveHomeDir('/a', { INFERNET_HOME: '/b' }), '/a');
    assert.equal(resolveHomeDir(undefined, { INFERNET_HOME: '/b' }), '/b');
    assert.match(resolveHomeDir(undefined, {}), /\.infernet$/);
  });
});
