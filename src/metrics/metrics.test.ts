import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createApiKey } from '../api/index.js';
import { nodeHome, validateNodeConfig } from '../config/index.js';
import { generateNodeKey } from '../identity/index.js';
import { FileFeedCursors, FileJobStore, JobEventFeed } from '../jobs/index.js';
import { silentLogger } from '../log/index.js';
import { sharedModelPath } from '../models/shared-test-models.js';
import { NodeDaemon } from '../node/index.js';
import { JobMetricsReader, MetricsFormatError, NodeMetrics, parsePrometheusText, sampleValue } from './index.js';

const tempDir = () => mkdtemp(join(tmpdir(), 'infernet-metrics-'));

describe('parsePrometheusText', () => {
  it('reads families, labels with escapes, special values and histograms', () => {
    const families = parsePrometheusText(
      [
        '# HELP a_total Things.',
        '# TYPE a_total counter',
        'a_total{kind="x\\"y\\\\z\\n",role="p"} 3',
        '# TYPE g gauge',
        'g NaN',
        'g{x="1"} -Inf 1700000000000',
        '# TYPE h histogram',
        'h_bucket{le="1"} 1',
        'h_bucket{le="+Inf"} 2',
        'h_sum 3.5',
        'h_count 2',
        '',
      ].join('\n'),
    );
    assert.equal(families.get('a_total')?.help, 'Things.');
    assert.equal(sampleValue(families, 'a_total', { kind: 'x"y\\z\n' }), 3);
    assert.ok(Number.isNaN(sampleValue(families, 'g')));
    assert.equal(sampleValue(families, 'g', { x: '1' }), -Infinity);
    assert.equal(sampleValue(families, 'h_count'), 2);
  });

  for (const [what, text] of [
    ['a sample without a TYPE line', 'x 1'],
    ['a duplicate series', '# TYPE x gauge\nx{a="1"} 1\nx{a="1"} 2'],
    ['a bad value', '# TYPE x gauge\nx one'],
    ['a bad escape', '# TYPE x gauge\nx{a="\\q"} 1'],
    ['an unterminated label', '# TYPE x gauge\nx{a="1} 1'],
    ['a negative counter', '# TYPE x counter\nx -1'],
    ['buckets that are not cumulative', '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_count 1'],
    ['a histogram without +Inf', '# TYPE h histogram\nh_bucket{le="1"} 2\nh_count 2'],
    ['a TYPE after samples', '# TYPE x gauge\nx 1\n# TYPE x counter'],
  ] as const) {
    it(`refuses ${what}`, () => assert.throws(() => parsePrometheusText(text), MetricsFormatError));
  }
});

describe('JobMetricsReader', () => {
  it('counts states entered, active jobs, tokens and rates from the job event feed', async () => {
    const metrics = new NodeMetrics();
    const dir = await tempDir();
    const store = new FileJobStore(join(dir, 'jobs.jsonl'));
    const feed = new JobEventFeed({ store, cursors: new FileFeedCursors(join(dir, 'cursors.json')), logger: silentLogger() });
    feed.follow(new JobMetricsReader(metrics));
    await feed.start();
    await store.create({ jobId: 'job-1', role: 'provider', model: 'm', state: 'running' });
    await store.create({ jobId: 'job-2', role: 'aggregator', model: 'm' });
    await feed.caughtUp();
    let families = parsePrometheusText(await metrics.render());
    assert.equal(sampleValue(families, 'infernet_jobs_active', { role: 'provider', state: 'running' }), 1);
    assert.equal(sampleValue(families, 'infernet_jobs_active', { role: 'aggregator', state: 'created' }), 1);
    await new Promise((resolve) => setTimeout(resolve, 20)); // the run lasts a measurable time
    await store.transition('job-1', 'provider', 'completed', { tokens: 100 });
    await store.transition('job-2', 'aggregator', 'failed', { error: { code: 'bad_signature', message: 'forged' } });
    await feed.caughtUp();
    families = parsePrometheusText(await metrics.render());
    assert.equal(sampleValue(families, 'infernet_jobs_total', { role: 'provider', state: 'completed' }), 1);
    assert.equal(sampleValue(families, 'infernet_jobs_total', { role: 'aggregator', state: 'failed' }), 1);
    assert.equal(sampleValue(families, 'infernet_jobs_active', { role: 'provider', state: 'running' }), undefined);
    assert.equal(sampleValue(families, 'infernet_tokens_total', { role: 'provider' }), 100);
    // The rate runs from the persisted running event to the completed one.
    const [running, completed] = (await store.events('job-1')).map((event) => event.at);
    assert.equal(sampleValue(families, 'infernet_job_tokens_per_second_sum', { role: 'provider' }), 100 / ((completed! - running!) / 1000));
    assert.equal(sampleValue(families, 'infernet_verification_failures_total', { reason: 'bad_signature' }), 1);
    await feed.close();
    await store.close();
  });
});

describe('GET /metrics on the API port of an all-in-one node', () => {
  let node: NodeDaemon;
  let key: string;

  before(async () => {
    const home = nodeHome(await tempDir());
    key = (await createApiKey(home.apiKeysFile)).key;
    const config = validateNodeConfig({ role: 'all', listen: { port: 0 }, models: [sharedModelPath('stories260K.gguf')], provider: { sandbox: 'none' }, storage: { backend: 'file' }, api: { port: 0 } }, 'test');
    node = await NodeDaemon.start({ home, config, key: generateNodeKey(), logger: silentLogger(), writeState: false });
    while ((node.aggregator?.providerCount ?? 0) === 0) await new Promise((resolve) => setTimeout(resolve, 10));
  });
  after(() => node?.stop());

  it('serves jobs by state, tokens, peers and bytes in the text format, without an API key', async () => {
    const completion = await fetch(`${node.apiUrl}/v1/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'stories260K', prompt: 'Once upon a time', max_tokens: 16, temperature: 0 }),
    });
    assert.equal(completion.status, 200);
    await completion.json();
    const scrape = async () => {
      const response = await fetch(`${node.apiUrl}/metrics`);
      assert.equal(response.status, 200);
      assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      return parsePrometheusText(await response.text());
    };
    // The client side's record is written after the reply has gone out.
    let families = await scrape();
    for (let tries = 0; tries < 100 && sampleValue(families, 'infernet_jobs_total', { role: 'client', state: 'completed' }) === undefined; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      families = await scrape();
    }
    for (const role of ['client', 'aggregator', 'provider']) {
      assert.equal(sampleValue(families, 'infernet_jobs_total', { role, state: 'completed' }), 1, `${role} completed`);
    }
    assert.equal(sampleValue(families, 'infernet_jobs_total', { role: 'aggregator', state: 'matched' }), 1);
    assert.equal(sampleValue(families, 'infernet_tokens_total', { role: 'provider' }), 16);
    assert.equal(sampleValue(families, 'infernet_job_tokens_per_second_count', { role: 'provider' }), 1);
    assert.ok(sampleValue(families, 'infernet_job_tokens_per_second_sum', { role: 'provider' })! > 0);
    // The API's client session to its own aggregator, and the aggregator's link to its own provider.
    assert.equal(sampleValue(families, 'infernet_peers', { role: 'client' }), 1);
    assert.equal(sampleValue(families, 'infernet_peers', { role: 'aggregator' }), 1);
    assert.equal(sampleValue(families, 'infernet_provider_slots'), 1);
    assert.ok(sampleValue(families, 'infernet_transport_bytes_total', { direction: 'sent' })! > 0);
    assert.equal(sampleValue(families, 'infernet_dht_lookups_total'), undefined, 'no DHT lookup: this node runs no discovery');
    assert.ok(families.has('infernet_payment_amount_total'));
    assert.equal((await fetch(`${node.apiUrl}/v1/models`)).status, 401, 'the API itself still wants a key');
  });
});
