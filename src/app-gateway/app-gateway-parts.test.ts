// The gateway's pure parts: what it computes from payments, nvidia-smi, a submitted form, an upload's name and
// a WebSocket's origin.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { describe, it } from 'node:test';
import { isSameOrigin } from './app-gateway.js';
import { AppJobSubmit, AppRequest } from './app-messages.js';
import { InvalidJobRequestError, jobSpecOf } from './app-job-runner.js';
import { ContentUploadError, uploadFileNameOf } from './content-upload.js';
import { summariseEarnings, type PaymentFigures } from './earnings.js';
import { cpuPercentBetween, parseGpuUsageCsv } from './node-usage.js';

describe('summariseEarnings', () => {
  it('adds released incoming payments as earned, pending and held as pending, released outgoing as spent, per rail and unit', () => {
    const payments: PaymentFigures[] = [
      { direction: 'incoming', rail: 'lightning', unit: 'sat', amount: 100, state: 'released' },
      { direction: 'incoming', rail: 'lightning', unit: 'sat', amount: 40, state: 'held' },
      { direction: 'incoming', rail: 'lightning', unit: 'sat', amount: 5, state: 'pending' },
      { direction: 'incoming', rail: 'lightning', unit: 'sat', amount: 70, state: 'refunded' },
      { direction: 'outgoing', rail: 'lightning', unit: 'sat', amount: 30, state: 'released' },
      { direction: 'outgoing', rail: 'evm', unit: 'wei', amount: 9, state: 'failed' },
    ];
    assert.deepEqual(summariseEarnings(payments), [
      { rail: 'evm', unit: 'wei', released: 0, pending: 0, spent: 0 },
      { rail: 'lightning', unit: 'sat', released: 100, pending: 45, spent: 30 },
    ]);
  });

  it('is empty without payments', () => {
    assert.deepEqual(summariseEarnings([]), []);
  });
});

describe('node usage', () => {
  it('reads nvidia-smi CSV rows and skips boards that report N/A', () => {
    const csv = 'NVIDIA H100 80GB HBM3, 37, 1024, 81559\nNVIDIA A10, [N/A], 10, 23028\n\n';
    assert.deepEqual(parseGpuUsageCsv(csv), [{ name: 'NVIDIA H100 80GB HBM3', utilizationPercent: 37, memoryUsedBytes: 1024 * 1024 * 1024, memoryTotalBytes: 81559 * 1024 * 1024 }]);
  });

  it('computes the busy share of CPU time between two samples', () => {
    assert.equal(cpuPercentBetween({ idle: 100, total: 200 }, { idle: 150, total: 400 }), 75);
    assert.equal(cpuPercentBetween({ idle: 1, total: 2 }, { idle: 1, total: 2 }), 0);
  });
});

describe('jobs submitted from the interface', () => {
  const form = AppJobSubmit.parse({ type: 'job.submit', requestId: 'r1', model: 'stories260K', prompt: 'Once', maxTokens: 16, temperature: 0.5, seed: 7, priceCap: { amount: '0.02', currency: 'USDC' }, verification: { kind: 'sampled', p: 0.25 } });

  it('become a job spec with the form parameters, price cap, verification policy and a deadline', () => {
    const { spec, mode } = jobSpecOf(form, '7d0f1b1e-3c2a-4b55-9a4e-2f8d6c1a0b9e', 1_000_000);
    assert.equal(mode, 'text');
    assert.deepEqual(spec.sampling, { temperature: 0.5, maxTokens: 16, seed: 7 });
    assert.deepEqual(spec.input, { prompt: 'Once' });
    assert.deepEqual(spec.priceCap, { amount: '0.02', currency: 'USDC', per: '1k_tokens' });
    assert.deepEqual(spec.verification, { kind: 'sampled', p: 0.25 });
    assert.equal(spec.deadline, 1_000_000 + 120_000, 'the default timeout of 120 s');
  });

  it('with structured output or tools become the chat job the API would run, with the form deadline and policy', () => {
    const schema = { type: 'object', properties: { name: { type: 'string' } }, required: ['name'], additionalProperties: false };
    const structured = AppJobSubmit.parse({ ...form, responseFormat: { type: 'json_schema', json_schema: { name: 'person', schema, strict: true } } });
    const { spec, mode } = jobSpecOf(structured, '7d0f1b1e-3c2a-4b55-9a4e-2f8d6c1a0b9e', 1_000_000);
    assert.equal(mode, 'text');
    assert.deepEqual(spec.input, { messages: [{ role: 'user', content: 'Once' }] });
    assert.equal(spec.sampling.format?.type, 'json_schema');
    assert.deepEqual([spec.deadline, spec.verification], [1_000_000 + 120_000, { kind: 'sampled', p: 0.25 }]);
    const weather = { type: 'function', function: { name: 'weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } };
    const called = jobSpecOf(AppJobSubmit.parse({ ...form, tools: [weather], toolChoice: 'required' }), '7d0f1b1e-3c2a-4b55-9a4e-2f8d6c1a0b9e', 1_000_000);
    assert.equal(called.mode, 'call');
    assert.ok(called.spec.sampling.format, 'a forced call decodes under its grammar');
  });

  it('with a tool or schema the grammar cannot honour are refused naming the form field', () => {
    const refusals: Array<[Record<string, unknown>, RegExp]> = [
      [{ responseFormat: { type: 'json_schema', json_schema: { name: 's', schema: { type: 'object', patternProperties: { x: {} } }, strict: true } } }, /structured output/],
      [{ tools: [{ type: 'retrieval' }] }, /tools/],
      [{ toolChoice: 'required' }, /tool choice/],
    ];
    for (const [fields, field] of refusals) {
      assert.throws(() => jobSpecOf(AppJobSubmit.parse({ ...form, ...fields })), (error: unknown) => error instanceof InvalidJobRequestError && field.test(error.message), JSON.stringify(fields));
    }
  });

  it('are refused with the field at fault', () => {
    assert.throws(() => jobSpecOf(form, 'no/slashes'), (error: unknown) => error instanceof InvalidJobRequestError && /jobId/.test(error.message));
    assert.equal(AppRequest.safeParse({ type: 'job.submit', requestId: 'r', model: 'm', prompt: 'p', maxTokens: 0, temperature: 0 }).success, false);
    assert.equal(AppRequest.safeParse({ type: 'job.submit', requestId: 'r', model: 'm', prompt: 'p', maxTokens: 1, temperature: 0, verification: { kind: 'redundant', k: 1 } }).success, false);
  });
});

describe('content uploads', () => {
  it('keep a bare, printable file name', () => {
    assert.equal(uploadFileNameOf('../../etc/model.gguf'), 'model.gguf');
    assert.equal(uploadFileNameOf('data set (1).jsonl'), 'data set _1_.jsonl');
    for (const bad of [null, '', '.bashrc', '../']) assert.throws(() => uploadFileNameOf(bad), ContentUploadError);
  });
});

describe('isSameOrigin', () => {
  const request = (headers: Record<string, string>) => ({ headers }) as unknown as IncomingMessage;
  it("accepts the page the node served and clients that send no Origin, refuses other sites' pages", () => {
    assert.equal(isSameOrigin(request({ host: '127.0.0.1:8080', origin: 'http://127.0.0.1:8080' })), true);
    assert.equal(isSameOrigin(request({ host: '127.0.0.1:8080' })), true);
    assert.equal(isSameOrigin(request({ host: '127.0.0.1:8080', origin: 'https://evil.example' })), false);
    assert.equal(isSameOrigin(request({ host: '127.0.0.1:8080', origin: 'null' })), false);
  });
});
