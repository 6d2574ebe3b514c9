import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { contentTypeOf, interfaceFileOf, serveInterfaceFile } from './interface-files.js';

describe('interfaceFileOf', () => {
  const root = '/srv/app/dist';
  it('maps asset paths inside the build folder and every page path to index.html', () => {
    assert.equal(interfaceFileOf(root, '/assets/index-abc.js'), '/srv/app/dist/assets/index-abc.js');
    assert.equal(interfaceFileOf(root, '/'), '/srv/app/dist/index.html');
    assert.equal(interfaceFileOf(root, '/logs'), '/srv/app/dist/index.html');
  });

  it('refuses paths that leave the build folder, however they are spelled', () => {
    for (const path of ['/../secret.json', '/assets/../../secret.json', '/%2e%2e/%2e%2e/etc/passwd.txt', '/..%2fdist-other/x.js', '/a.js%00.png', '/%E0%A4%A.js']) {
      assert.equal(interfaceFileOf(root, path), undefined, path);
    }
  });

  it('names the content type of what the build holds', () => {
    assert.equal(contentTypeOf('/x/index.html'), 'text/html; charset=utf-8');
    assert.equal(contentTypeOf('/x/assets/a.JS'), 'text/javascript; charset=utf-8');
    assert.equal(contentTypeOf('/x/blob.bin'), 'application/octet-stream');
  });
});

describe('serveInterfaceFile over HTTP', () => {
  let dir: string;
  let server: Server;
  let base: string;
  let root: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infernet-interface-'));
    root = join(dir, 'dist');
    await mkdir(join(root, 'assets'), { recursive: true });
    await writeFile(join(root, 'index.html'), '<!doctype html><title>Infernet</title>');
    await writeFile(join(root, 'assets', 'app-1.js'), 'console.log(1)');
    await writeFile(join(dir, 'secret.json'), '{"secret":true}');
    server = createServer((request, response) => void serveInterfaceFile(root, request, response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  it('serves the page fresh and hashed assets as immutable', async () => {
    const page = await fetch(`${base}/#/dashboard`);
    assert.equal(page.status, 200);
    assert.equal(page.headers.get('cache-control'), 'no-cache');
    assert.match(await page.text(), /<title>Infernet/);
    const asset = await fetch(`${base}/assets/app-1.js`);
    assert.equal(asset.headers.get('content-type'), 'text/javascript; charset=utf-8');
    assert.match(asset.headers.get('cache-control') ?? '', /immutable/);
    assert.equal(await asset.text(), 'console.log(1)');
  });

  it('answers 404 for a missing asset or an escape, and 405 for a write', async () => {
    assert.equal((await fetch(`${base}/assets/missing.js`)).status, 404);
    assert.equal((await fetch(`${base}/%2e%2e/secret.json`)).status, 404);
    assert.equal((await fetch(`${base}/`, { method: 'POST', body: 'x' })).status, 405);
  });

  it('says how to build the interface when it is not built', async () => {
    await rm(join(root, 'index.html'));
    const response = await fetch(`${base}/`);
    assert.equal(response.status, 503);
    assert.match(await response.text(), /scripts\/setup-desktop\.sh/);
  });
});
