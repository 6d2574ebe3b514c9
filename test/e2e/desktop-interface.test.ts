// The desktop and browser interface as a user meets it: the built Svelte app, served by a real all-in-one daemon
// (its PocketBase, its provider running stories260K in-process), driven in headless Chromium. One daemon and one
// browser for the whole suite; each view's screenshot goes to .infernet-test/screenshots/.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import PocketBase from 'pocketbase';
import { WebSocket } from 'ws';
import { sharedModelPath } from '../../src/models/shared-test-models.js';
import { eventually, REPO_ROOT, runCli, startDaemon, type RunningDaemon } from '../support/cli.js';
import { interfaceBuilt, launchChromium, type Browser, type Page } from '../support/desktop-chromium.js';

const SCREENSHOTS = join(REPO_ROOT, '.infernet-test', 'screenshots');
const MODEL = 'stories260K';
/** Enough tokens that the stream arrives as many frames (the provider coalesces tokens every 8 ms). */
const STREAMED_TOKENS = 600;

interface CliJob {
  jobId: string;
  role: string;
  state: string;
  output?: string;
  tokens?: number;
}

describe('the desktop interface against a real daemon', () => {
  let dir: string;
  let daemon: RunningDaemon;
  let browser: Browser;
  let page: Page;
  let apiKey: string;
  let jobId = '';
  const pageErrors: string[] = [];

  const shoot = (view: string) => page.screenshot({ path: join(SCREENSHOTS, `desktop-${view}.png`), fullPage: true });
  const open = async (view: string) => {
    await page.locator(`nav button[data-view="${view}"]`).click();
    await page.locator(`main[data-testid="view-${view}"]`).waitFor();
  };

  before(async () => {
    assert.ok(interfaceBuilt(), 'apps/desktop/dist is missing: run scripts/setup-desktop.sh');
    await mkdir(SCREENSHOTS, { recursive: true });
    dir = await mkdtemp(join(tmpdir(), 'infernet-desktop-'));
    const home = join(dir, 'node');
    const init = await runCli(['init', '--home', home, '--role', 'all', '--port', '0', '--api-port', '0', '--sandbox', 'none', '--model', sharedModelPath(`${MODEL}.gguf`)]);
    assert.equal(init.code, 0, init.stderr);
    const created = await runCli(['apikey', 'create', '--home', home, '--label', 'desktop-e2e']);
    assert.equal(created.code, 0, created.stderr);
    apiKey = created.stdout.trim();
    daemon = await startDaemon(home, { until: 'api' });
    await eventually(
      async () => {
        const models = await fetch(`${daemon.api}/v1/models`, { headers: { authorization: `Bearer ${apiKey}` } });
        return models.ok && JSON.stringify(await models.json()).includes(MODEL);
      },
      20_000,
      'the node to serve its model',
    );
    browser = await launchChromium();
    // The page's CSP forbids eval, which the test's own page-side expressions need; the app never evaluates strings.
    const context = await browser.newContext({ acceptDownloads: true, bypassCSP: true, viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message ?? String(error)));
  });

  after(async () => {
    await browser?.close();
    await daemon?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('serves the interface on the API port, asks for an API key, refuses a wrong one and connects with the right one', async () => {
    await page.goto(`${daemon.api}/`);
    await page.locator('input[name="apiKey"]').fill('inf_not-a-key-of-this-node');
    await page.locator('button[type="submit"]').click();
    await page.locator('[data-testid="connect-error"]').waitFor();
    await shoot('connect');
    await page.locator('input[name="apiKey"]').fill(apiKey);
    await page.locator('button[type="submit"]').click();
    await page.waitForFunction(`document.querySelector('[data-testid="connection-status"]')?.textContent === 'open'`, null, { timeout: 15_000 });
    const npub = await page.locator('[data-testid="node-npub"]').textContent();
    assert.ok(npub && daemon.npub.startsWith(npub.split('…')[0]!), `the header names this node (${npub})`);
  });

  it("refuses the interface's WebSocket to other sites' pages, to a wrong key and to requests before hello", async () => {
    const url = `${daemon.api!.replace(/^http/, 'ws')}/app/ws`;
    const fromElsewhere = new WebSocket(url, { origin: 'https://elsewhere.example' });
    const [refusal] = (await once(fromElsewhere, 'error')) as [Error];
    assert.match(refusal.message, /Unexpected server response: 404/);
    for (const first of [{ type: 'hello', key: 'inf_wrong' }, { type: 'job.submit', requestId: 'r', model: MODEL, prompt: 'p', maxTokens: 4, temperature: 0 }]) {
      const socket = new WebSocket(url);
      await once(socket, 'open');
      socket.send(JSON.stringify(first));
      const [code] = (await once(socket, 'close')) as [number];
      assert.equal(code, 4401, `${first.type} first`);
    }
  });

  it('welcomes a valid key with the node and an app token for PocketBase that cannot read the payments ledger', async () => {
    const socket = new WebSocket(`${daemon.api!.replace(/^http/, 'ws')}/app/ws`);
    await once(socket, 'open');
    const welcomed = once(socket, 'message');
    socket.send(JSON.stringify({ type: 'hello', key: apiKey }));
    const welcome = JSON.parse(String(((await welcomed) as [Buffer])[0])) as { type: string; node: { npub: string }; models: string[]; pocketbase: { url: string; token: string } };
    socket.close();
    assert.equal(welcome.type, 'welcome');
    assert.equal(welcome.node.npub, daemon.npub);
    assert.deepEqual(welcome.models, [MODEL]);
    const app = new PocketBase(welcome.pocketbase.url);
    app.autoCancellation(false);
    app.authStore.save(welcome.pocketbase.token, null);
    await app.collection('jobs').getList(1, 1);
    await assert.rejects(app.collection('payments').getList(1, 1), (error: { status?: number }) => error.status === 403);
  });

  it('submits a job and shows its tokens as they stream in', async () => {
    await open('submit');
    await page.locator('input[name="model"]').fill(MODEL);
    await page.locator('textarea[name="prompt"]').fill('Once upon a time');
    await page.locator('input[name="maxTokens"]').fill(String(STREAMED_TOKENS));
    // Every length the output element takes while the job runs, recorded in the page as the DOM changes.
    await page.evaluate(`{
      const output = document.querySelector('[data-testid="job-output"]');
      window.outputLengths = [];
      new MutationObserver(() => window.outputLengths.push(output.textContent.length)).observe(output, { childList: true, characterData: true, subtree: true });
    }`);
    await page.locator('form[data-testid="submit-form"] button[type="submit"]').click();
    await page.waitForFunction(`document.querySelector('[data-testid="job-status"]').textContent.startsWith('completed') || !!document.querySelector('[data-testid="job-error"]')`, null, { timeout: 60_000 });
    if (await page.locator('[data-testid="job-error"]').count()) assert.fail(`the job failed: ${await page.locator('[data-testid="job-error"]').textContent()}`);
    const status = (await page.locator('[data-testid="job-status"]').textContent()) ?? '';
    assert.match(status, new RegExp(`^completed: ${STREAMED_TOKENS} tokens`));
    const output = (await page.locator('[data-testid="job-output"]').textContent()) ?? '';
    const lengths = (await page.evaluate('window.outputLengths')) as number[];
    const growing = [...new Set(lengths)].filter((length) => length > 0 && length < output.length);
    assert.ok(growing.length >= 3, `the output grew piece by piece before it was complete (lengths seen: ${lengths.join(',')})`);
    const pieces = Number(((await page.locator('[data-testid="job-pieces"]').textContent()) ?? '').split(' ')[0]);
    assert.ok(pieces > 3, `${pieces} pieces streamed`);
    const jobs = JSON.parse((await runCli(['jobs', '--home', join(dir, 'node'), '--json'])).stdout) as CliJob[];
    const clientJob = jobs.find((job) => job.role === 'client' && job.output === output);
    assert.ok(clientJob, 'the node recorded the job with the output the interface showed');
    assert.equal(clientJob.state, 'completed');
    jobId = clientJob.jobId;
    await shoot('submit');
  });

  it('lists the job in the local history', async () => {
    await open('history');
    const row = page.locator(`[data-testid="history"] tr[data-job-id="${jobId}"]`);
    await row.waitFor();
    assert.match((await row.textContent()) ?? '', /completed/);
    await row.click();
    assert.ok(((await page.locator('[data-testid="history"] tr.detail').textContent()) ?? '').includes(jobId));
    await shoot('history');
  });

  it('says why a job for a model nobody serves failed, and keeps it in the history as failed', async () => {
    await open('submit');
    await page.locator('input[name="model"]').fill('no-such-model');
    await page.locator('form[data-testid="submit-form"] button[type="submit"]').click();
    await page.locator('[data-testid="job-error"]').waitFor({ timeout: 30_000 });
    const error = (await page.locator('[data-testid="job-error"]').textContent()) ?? '';
    assert.match(error, /^(no_provider|model_unavailable): .+/, error);
    await open('history');
    const rows = page.locator('[data-testid="history"] tbody tr');
    assert.equal(await rows.count(), 2);
    assert.match((await rows.first().textContent()) ?? '', /no-such-model.*failed/);
  });

  it('shows the job on the dashboard, live from PocketBase, with machine use and empty earnings and reputation', async () => {
    await open('dashboard');
    await page.locator(`[data-testid="recent-jobs"] tr[data-job-id="${jobId}"]`).first().waitFor();
    // One job, three records: the node was its client, its aggregator and its provider.
    assert.equal(await page.locator(`[data-testid="recent-jobs"] tr[data-job-id="${jobId}"]`).count(), 3);
    await page.waitForFunction(`Number(document.querySelector('[data-testid="jobs-done"] .big')?.textContent) >= 3`, null, { timeout: 10_000 });
    assert.match((await page.locator('[data-testid="cpu-usage"]').textContent()) ?? '', /\d+%/);
    assert.match((await page.locator('[data-testid="earnings"]').textContent()) ?? '', /No payments yet/);
    await shoot('dashboard');
  });

  it('shows how the job was relayed and plans a split over GPUs', async () => {
    await open('aggregator');
    await page.locator(`[data-testid="aggregator-jobs"] tr[data-job-id="${jobId}"]`).click();
    assert.equal(await page.locator('[data-testid="shards"] tbody tr').count(), 1, 'one provider ran the whole job');
    await page.locator('input[name="planModel"]').fill('llama-3-70b');
    await page.locator('input[name="planGpus"]').fill('4x24GB,4x24GB');
    await page.locator('form[data-testid="plan-form"] button[type="submit"]').click();
    await page.locator('[data-testid="plan-explanation"]').waitFor({ timeout: 15_000 });
    const stages = await page.locator('[data-testid="plan-stages"] .stage').count();
    const plan = JSON.parse((await runCli(['plan', '--model', 'llama-3-70b', '--gpus', '4x24GB,4x24GB', '--json'])).stdout) as { plan: { stages: unknown[]; explanation: string } };
    assert.equal(stages, plan.plan.stages.length, 'the same stages as `infernet plan`');
    assert.equal(await page.locator('[data-testid="plan-explanation"]').textContent(), plan.plan.explanation);
    await shoot('aggregator');
  });

  it('uploads a file into the content store with progress, and lists it as `infernet content ls` does', async () => {
    await open('content');
    const bytes = randomBytes(3 * 1024 * 1024 + 17);
    await page.locator('input[name="file"]').setInputFiles({ name: 'tiny-dataset.bin', mimeType: 'application/octet-stream', buffer: bytes });
    await page.locator('select[name="kind"]').selectOption('dataset');
    await page.locator('form[data-testid="content-form"] button[type="submit"]').click();
    await page.waitForFunction(`['done', 'failed'].includes(document.querySelector('[data-testid="upload-status"]')?.dataset.phase)`, null, { timeout: 60_000 });
    const status = (await page.locator('[data-testid="upload-status"]').textContent()) ?? '';
    assert.match(status, /^added tiny-dataset\.bin \(3\.0 MiB\) as (\w+)$/, status);
    assert.equal(await page.evaluate(`document.querySelector('[data-testid="upload-progress"]').dataset.percent`), '100');
    const listed = JSON.parse((await runCli(['content', 'ls', '--home', join(dir, 'node'), '--json'])).stdout) as Array<{ cid: string; name: string; size: number }>;
    const stored = listed.find((item) => item.name === 'tiny-dataset.bin');
    assert.ok(stored, 'the node holds the upload');
    assert.equal(stored.size, bytes.length);
    assert.ok(status.endsWith(stored.cid));
    await page.locator(`[data-testid="content-list"] tr[data-cid="${stored.cid}"]`).waitFor();
    await shoot('content');
  });

  it('shows earnings and reputation over time as the ledgers fill, live from PocketBase', async () => {
    // Rows as the payment and reputation parts of a node write them, in the node's own PocketBase.
    const home = join(dir, 'node');
    const { url } = JSON.parse(await readFile(join(home, 'pocketbase-process.json'), 'utf8')) as { url: string };
    const superuser = JSON.parse(await readFile(join(home, 'pocketbase-superuser.json'), 'utf8')) as { email: string; password: string };
    const pb = new PocketBase(url);
    pb.autoCancellation(false);
    await pb.collection('_superusers').authWithPassword(superuser.email, superuser.password);
    const now = Date.now();
    // This all-in-one node is the provider of its own jobs: its reputation is the line to draw.
    const { publicKey: provider } = JSON.parse((await runCli(['status', '--home', home, '--json'])).stdout) as { publicKey: string };
    await open('dashboard');
    await pb.collection('payments').create({ jobId, role: 'provider', direction: 'incoming', rail: 'lightning', amount: 1500, unit: 'sat', state: 'released', createdAt: now, updatedAt: now });
    await pb.collection('payments').create({ jobId, role: 'aggregator', direction: 'incoming', rail: 'lightning', amount: 250, unit: 'sat', state: 'held', createdAt: now, updatedAt: now });
    for (const [index, delta] of [1, 1, -0.5, 1].entries()) {
      await pb.collection('reputation_events').create({ provider, jobId, kind: delta > 0 ? 'completed' : 'missed-deadline', delta, at: now - (4 - index) * 60_000 });
    }
    await page.waitForFunction(`/1500 sat/.test(document.querySelector('[data-testid="earnings"]').textContent)`, null, { timeout: 10_000 });
    assert.match((await page.locator('[data-testid="earnings"] tbody').textContent()) ?? '', /lightning\s*1500 sat\s*250 sat/);
    await page.locator('[data-testid="reputation"] svg polyline').first().waitFor({ timeout: 10_000 });
    const points = String(await page.evaluate(`document.querySelector('[data-testid="reputation"] svg polyline').getAttribute('points')`)).trim().split(' ');
    assert.ok(points.length >= 4, `one point per event (${points.length})`);
    pb.authStore.clear();
    await shoot('dashboard-ledgers');
  });

  it('shows the logs as a filterable table and exports them as JSON and CSV', async () => {
    await open('logs');
    await page.locator('[data-testid="log-table"]').waitFor();
    await page.locator('input[name="search"]').fill(jobId);
    await page.waitForFunction(`[...document.querySelectorAll('[data-testid="log-table"] tbody tr')].every((row) => row.querySelector('td[title]')?.getAttribute('title') === ${JSON.stringify(jobId)})`);
    await shoot('logs');
    const [json] = await Promise.all([page.waitForEvent('download'), page.locator('button[data-export="json"]').click()]);
    const exported = JSON.parse(await readFile(await json.path(), 'utf8')) as Array<{ jobId: string; source: string; message: string }>;
    assert.ok(exported.length >= 3, 'the job events of every role');
    assert.ok(exported.every((line) => line.jobId === jobId), 'only the filtered lines');
    assert.ok(exported.some((line) => line.source === 'job:client' && /completed/.test(line.message)));
    assert.ok(exported.some((line) => line.source === 'app-gateway' && /^job completed for the interface: 600 tokens/.test(line.message)), 'the gateway logged the outcome');
    const [csv] = await Promise.all([page.waitForEvent('download'), page.locator('button[data-export="csv"]').click()]);
    const rows = (await readFile(await csv.path(), 'utf8')).trim().split('\r\n');
    assert.equal(rows[0], 'time,level,source,jobId,message');
    assert.equal(rows.length, exported.length + 1);
    const [summary] = await Promise.all([page.waitForEvent('download'), page.locator('button[data-export="summary"]').click()]);
    const summaryRows = (await readFile(await summary.path(), 'utf8')).trim().split('\r\n');
    assert.equal(summaryRows[0], 'source,level,count,first,last');
    const counted = summaryRows.slice(1).reduce((sum, row) => sum + Number(row.split(',')[2]), 0);
    assert.equal(counted, exported.length, 'the summary counts every exported line');
  });

  it('asks for JSON under a schema and for a tool call from the submit form, and shows the answer and the call', async () => {
    await open('submit');
    /** Submits the form and waits for this job's end: the statuses shown from the click on are recorded in the page. */
    const submitAndWait = async (): Promise<string> => {
      await page.evaluate(`{
        const status = document.querySelector('[data-testid="job-status"]');
        window.statusesSeen = [];
        new MutationObserver(() => window.statusesSeen.push(status.textContent)).observe(status, { childList: true, characterData: true, subtree: true });
      }`);
      await page.locator('form[data-testid="submit-form"] button[type="submit"]').click();
      await page.waitForFunction(`window.statusesSeen.some((text) => text.startsWith('completed')) || !!document.querySelector('[data-testid="job-error"]')`, null, { timeout: 60_000 });
      if (await page.locator('[data-testid="job-error"]').count()) assert.fail(`the job failed: ${await page.locator('[data-testid="job-error"]').textContent()}`);
      return (await page.locator('[data-testid="job-output"]').textContent()) ?? '';
    };
    await page.locator('input[name="model"]').fill(MODEL);
    await page.locator('textarea[name="prompt"]').fill('Tell me about Lily.');
    await page.locator('input[name="maxTokens"]').fill('200');
    const schema = { type: 'object', properties: { name: { type: 'string', maxLength: 12 }, happy: { type: 'boolean' } }, required: ['name', 'happy'], additionalProperties: false };
    await page.locator('select[name="outputFormat"]').selectOption('json_schema');
    await page.locator('textarea[name="schema"]').fill(JSON.stringify(schema));
    const answer = JSON.parse(await submitAndWait()) as Record<string, unknown>;
    assert.deepEqual(Object.keys(answer).sort(), ['happy', 'name']);
    assert.ok(typeof answer.name === 'string' && answer.name.length <= 12 && typeof answer.happy === 'boolean', JSON.stringify(answer));
    await shoot('submit-structured');

    await page.locator('select[name="outputFormat"]').selectOption('text');
    const weather = { name: 'weather', description: 'The weather in a city', parameters: { type: 'object', properties: { city: { type: 'string', maxLength: 20 } }, required: ['city'], additionalProperties: false } };
    await page.locator('textarea[name="tools"]').fill(JSON.stringify([weather]));
    await page.locator('select[name="toolChoice"]').selectOption('required');
    await submitAndWait();
    const call = /^weather\((.*)\)$/s.exec((await page.locator('[data-testid="job-tool-call"]').textContent()) ?? '');
    assert.ok(call, 'the forced call is shown with its arguments');
    assert.equal(typeof (JSON.parse(call[1]!) as { city?: unknown }).city, 'string');
    await shoot('submit-tool-call');

    // A schema the grammar cannot enforce is refused naming the form's field, and no job runs.
    await page.locator('textarea[name="tools"]').fill('');
    await page.locator('select[name="outputFormat"]').selectOption('json_schema');
    await page.locator('textarea[name="schema"]').fill(JSON.stringify({ type: 'object', patternProperties: { '^x': { type: 'string' } } }));
    await page.locator('form[data-testid="submit-form"] button[type="submit"]').click();
    await page.locator('[data-testid="job-error"]').waitFor({ timeout: 30_000 });
    assert.match((await page.locator('[data-testid="job-error"]').textContent()) ?? '', /structured output/);
    await page.locator('select[name="outputFormat"]').selectOption('text');
  });

  it('raised no error in the page', () => {
    assert.deepEqual(pageErrors, []);
  });
});
