// The mobile app's web build (`expo export --platform web`) in headless Chromium against a real daemon: the
// user reads the phone's npub in Settings, the node pairs it (`infernet pair --phone`), the app opens the
// pairing link, a job is submitted from the Submit screen and followed to completion. Screenshots of every
// screen go to .infernet-test/mobile-web/.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { extname, join, normalize } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sharedModelPath } from '../../src/models/shared-test-models.js';
import { REPO_ROOT, runCli, startDaemon, type RunningDaemon } from '../support/cli.js';

const APP_DIR = join(REPO_ROOT, 'apps', 'mobile');
const WEB_BUILD = join(APP_DIR, 'dist-web');
const SCREENSHOTS = join(REPO_ROOT, '.infernet-test', 'mobile-web');
const CHROMIUM = '/usr/bin/chromium';
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'];
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.json': 'application/json', '.css': 'text/css', '.png': 'image/png', '.ico': 'image/x-icon', '.ttf': 'font/ttf' };

/** The few playwright-core calls used; it is the app's dev dependency (apps/mobile), not the node's. */
interface Locator {
  click(): Promise<void>;
  fill(text: string): Promise<void>;
  textContent(): Promise<string | null>;
  waitFor(options?: { timeout?: number }): Promise<void>;
}
interface Page {
  goto(url: string): Promise<unknown>;
  getByTestId(id: string): Locator;
  screenshot(options: { path: string; fullPage?: boolean }): Promise<unknown>;
  waitForFunction(script: string, argument?: unknown, options?: { timeout?: number }): Promise<unknown>;
  on(event: 'console', listener: (message: { text(): string }) => void): void;
}
interface Browser {
  newPage(options?: { viewport: { width: number; height: number } }): Promise<Page>;
  close(): Promise<void>;
}

/** Sources whose change makes the web export stale: the app's, and the node's protocol it bundles. */
const WEB_SOURCES = [join(APP_DIR, 'src'), join(APP_DIR, 'index.js'), join(APP_DIR, 'app.json'), join(REPO_ROOT, 'src', 'protocol'), join(REPO_ROOT, 'src', 'storage', 'collections.ts')];

function newestChange(path: string): number {
  const info = statSync(path);
  if (!info.isDirectory()) return info.mtimeMs;
  return Math.max(info.mtimeMs, ...readdirSync(path).map((name) => newestChange(join(path, name))));
}

/** Builds the web export when setup-mobile.sh has not, or a source changed since (a minute or two on two cores). */
function ensureWebBuild(): void {
  const index = join(WEB_BUILD, 'index.html');
  if (existsSync(index) && Math.max(...WEB_SOURCES.map(newestChange)) <= statSync(index).mtimeMs) return;
  const built = spawnSync('npx', ['expo', 'export', '--platform', 'web', '--output-dir', 'dist-web'], { cwd: APP_DIR, env: { ...process.env, EXPO_OFFLINE: '1', CI: '1' }, encoding: 'utf8', timeout: 420_000 });
  assert.equal(built.status, 0, `expo export failed (run bash scripts/setup-mobile.sh): ${built.stderr}`);
}

async function serveStatic(root: string): Promise<{ server: Server; url: string }> {
  const server = createServer((request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname)).replace(/^(\.\.[/\\])+/, '');
    const file = join(root, path === '/' ? 'index.html' : path);
    readFile(file).then(
      (body) => response.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body),
      () => readFile(join(root, 'index.html')).then((body) => response.writeHead(200, { 'content-type': 'text/html' }).end(body)),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return { server, url: `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}` };
}

describe('the mobile web build in headless Chromium against a real node', () => {
  let dir: string;
  let node: RunningDaemon;
  let site: { server: Server; url: string };
  let browser: Browser;
  let page: Page;
  const consoleLines: string[] = [];
  const shot = (name: string) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });
  const text = async (testId: string) => (await page.getByTestId(testId).textContent()) ?? '';
  const waitForText = (testId: string, pattern: RegExp, timeout = 60_000) =>
    page.waitForFunction(
      `new RegExp(${JSON.stringify(pattern.source)}).test(document.querySelector(${JSON.stringify(`[data-testid="${testId}"]`)})?.textContent ?? '')`,
      undefined,
      { timeout },
    ).catch(async (error: Error) => {
      throw new Error(`${testId} never matched ${pattern}: it reads "${await text(testId).catch(() => '?')}"; browser console:\n${consoleLines.slice(-20).join('\n')}`, { cause: error });
    });

  before(async () => {
    ensureWebBuild();
    await mkdir(SCREENSHOTS, { recursive: true });
    dir = await mkdtemp(join(tmpdir(), 'infernet-mobile-web-'));
    const init = await runCli(['init', '--home', join(dir, 'node'), '--role', 'all', '--port', '0', '--sandbox', 'none', '--model', sharedModelPath('stories260K.gguf')]);
    assert.equal(init.code, 0, init.stderr);
    node = await startDaemon(join(dir, 'node'));
    site = await serveStatic(WEB_BUILD);
    const { chromium } = createRequire(join(APP_DIR, 'package.json'))('playwright-core') as { chromium: { launch(options: { executablePath: string; args: string[] }): Promise<Browser> } };
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage({ viewport: { width: 430, height: 900 } });
    page.on('console', (message) => consoleLines.push(message.text()));
  });

  after(async () => {
    await browser?.close();
    site?.server.close();
    await node?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('pairs with the node, submits a job and shows it completed, with screenshots of every screen', async () => {
    await page.goto(site.url);
    await waitForText('phone-npub', /^npub1/);
    const npub = await text('phone-npub');
    await shot('1-settings-unpaired');

    const paired = await runCli(['pair', '--home', join(dir, 'node'), '--phone', npub, '--models', 'stories260K', '--max-tokens', '32', '--json']);
    assert.equal(paired.code, 0, paired.stderr);
    const { url } = JSON.parse(paired.stdout) as { url: string };
    await page.goto(`${site.url}/?link=${encodeURIComponent(url)}`);
    await page.getByTestId('tab-settings').click();
    await waitForText('settings-connection', /^connected/);
    assert.equal(await text('phone-npub'), npub, 'the key survives a reload (localStorage)');
    assert.equal(await text('settings-node-npub'), node.npub);
    await shot('2-settings-paired');

    await page.getByTestId('tab-submit').click();
    await page.getByTestId('submit-prompt').fill('Once upon a time');
    await page.getByTestId('submit-max-tokens').fill('24');
    await shot('3-submit');
    await page.getByTestId('submit-button').click();
    await waitForText('detail-status', /^completed$/);
    const output = await text('detail-output');
    assert.ok(output.length > 0 && !/Waiting/.test(output), `streamed output shown: "${output}"`);
    await waitForText('notification-title', /^stories260K: done \(\d+ tokens\)$/);
    await page.getByTestId('detail-refresh').click();
    await waitForText('job-detail-screen', /→ completed/, 20_000);
    await shot('4-job-detail');

    await page.getByTestId('tab-jobs').click();
    await waitForText('jobs-screen', /completed/);
    await shot('5-jobs');
    await page.getByTestId('tab-providers').click();
    await page.getByTestId('providers-screen').waitFor();
    await waitForText('providers-screen', /No providers recorded by this node yet|Reputation/, 20_000);
    await shot('6-providers');

    const grants = JSON.parse((await runCli(['pair', 'list', '--home', join(dir, 'node'), '--json'])).stdout) as { phoneNpub: string; jobsLastHour: number }[];
    assert.deepEqual(grants.map((grant) => [grant.phoneNpub, grant.jobsLastHour]), [[npub, 1]]);
    for (const name of ['1-settings-unpaired', '2-settings-paired', '3-submit', '4-job-detail', '5-jobs', '6-providers']) {
      assert.ok((await readFile(join(SCREENSHOTS, `${name}.png`))).length > 1000, `screenshot ${name}`);
    }
  });
});
