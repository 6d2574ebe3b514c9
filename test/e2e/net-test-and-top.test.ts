// `infernet net test` and `infernet top --once` as a user runs them, against a daemon in its own process.
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { interNodeLinksOf, readNetTestResults, netTestsFileOf, type NetTestResult } from '../../src/network-test/index.js';
import { runCli, startDaemon, type RunningDaemon } from '../support/cli.js';

describe('net test and top against a running aggregator', () => {
  let aggregatorHome: string;
  let clientHome: string;
  let daemon: RunningDaemon;

  before(async () => {
    aggregatorHome = await mkdtemp(join(tmpdir(), 'infernet-top-'));
    clientHome = await mkdtemp(join(tmpdir(), 'infernet-net-'));
    assert.equal((await runCli(['init', '--home', aggregatorHome, '--role', 'aggregator', '--port', '0'])).code, 0);
    // An aggregator has no OpenAI API; with api.port it serves /metrics alone there.
    await appendFile(join(aggregatorHome, 'config.yaml'), 'storage: { backend: file }\napi: { port: 0 }\n');
    assert.equal((await runCli(['init', '--home', clientHome, '--role', 'client'])).code, 0);
    daemon = await startDaemon(aggregatorHome);
  });
  after(() => daemon?.stop());

  it('measures the link from a client home, prints figures and stores them for the planner', async () => {
    const run = await runCli(['net', 'test', daemon.url, '--home', clientHome, '--json', '--bytes', String(4 * 1024 * 1024), '--seconds', '3', '--pings', '20']);
    assert.equal(run.code, 0, run.stderr);
    const printed = JSON.parse(run.stdout) as NetTestResult;
    assert.equal(printed.peer.npub, daemon.npub);
    assert.equal(printed.latency.samples, 20);
    assert.ok(printed.latency.p99Ms < 100 && printed.upload.bitsPerSecond > 10e6 && printed.download.bitsPerSecond > 10e6, run.stdout);
    const stored = await readNetTestResults(netTestsFileOf(clientHome));
    assert.deepEqual(stored, [printed]);
    const [link] = interNodeLinksOf(stored);
    assert.ok(link && link.bandwidthGbps! > 0.01 && link.latencyMs! > 0);
  });

  it('refuses a peer that is not a ws:// URL', async () => {
    const run = await runCli(['net', 'test', 'http://127.0.0.1:1', '--home', clientHome]);
    assert.equal(run.code, 1);
    assert.match(run.stderr, /ws:\/\/ or wss:\/\/ URL/);
  });

  it('top --once prints one frame from the daemon\'s /metrics and exits', async () => {
    const state = JSON.parse(await readFile(join(aggregatorHome, 'daemon.json'), 'utf8')) as { metrics?: string };
    assert.match(state.metrics ?? '', /^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    const run = await runCli(['top', '--home', aggregatorHome, '--once'], { timeoutMs: 15_000 });
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^infernet top  ${daemon.npub} \\(aggregator\\)`));
    assert.match(run.stdout, /^peers {6}/m);
    assert.match(run.stdout, /^transport  sent \d+\.\d\d MiB, received [1-9]\d*\.\d\d MiB/m, 'the net test above moved megabytes');
  });
});
