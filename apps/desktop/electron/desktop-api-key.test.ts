// The app's API key, made and checked with the real `infernet apikey` of this checkout.
import assert from 'node:assert/strict';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ensureDesktopApiKey, readSavedApiKey } from './desktop-api-key.js';
import { runInfernetChecked } from './run-infernet.js';
import { makeClientHome, testCli } from './test-node-home.js';

describe("the desktop app's API key", async () => {
  const node = await makeClientHome();
  const file = join(node.dir, 'user-data', 'api-key.json');
  after(() => node.remove());

  it('creates a key on first use, kept readable by this user only and listed by the node', async () => {
    const saved = await ensureDesktopApiKey({ home: node.home, file, cli: testCli });
    assert.match(saved.key, /^inf_[A-Za-z0-9_-]{43}$/);
    assert.equal((await stat(file)).mode & 0o777, 0o600);
    assert.deepEqual(await readSavedApiKey(file), saved);
    const listed = JSON.parse(await runInfernetChecked(testCli, ['apikey', 'list', '--home', node.home, '--json'])) as Array<{ label: string }>;
    assert.deepEqual(listed.map((key) => key.label), [saved.label]);
  });

  it('reuses the saved key while the node still lists it', async () => {
    const first = await readSavedApiKey(file);
    assert.deepEqual(await ensureDesktopApiKey({ home: node.home, file, cli: testCli }), first);
  });

  it('makes a new key when the saved one was revoked', async () => {
    const first = (await readSavedApiKey(file))!;
    await runInfernetChecked(testCli, ['apikey', 'revoke', '--home', node.home, first.label]);
    const second = await ensureDesktopApiKey({ home: node.home, file, cli: testCli });
    assert.notEqual(second.key, first.key);
    assert.notEqual(second.label, first.label);
  });
});
