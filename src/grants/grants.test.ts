import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { generateNodeKey, signEnvelope } from '../identity/index.js';
import { silentLogger } from '../log/index.js';
import type { FrameOf } from '../protocol/index.js';
import { admitJob, compareDecimals, pushMessagesFor, EVENT_KIND_PAIRING_GRANT, GrantSignatureError, issueGrant, listGrants, pairPhone, PhoneGrants, revokeGrants, verifyGrant, type GrantLimits } from './index.js';

const node = generateNodeKey();
const phone = generateNodeKey();
const NOW = 1_800_000_000_000;
const limits: GrantLimits = { models: ['stories260K'], maxTokens: 64, jobsPerHour: 2, priceCap: { amount: '0.05', currency: 'USDC', per: '1k_tokens' }, expiresAt: NOW + 3_600_000 };
const request = (patch: Partial<FrameOf<'job.request'>> = {}): FrameOf<'job.request'> => ({
  v: 1,
  type: 'job.request',
  jobId: 'job-12345678',
  model: { name: 'stories260K' },
  maxTokens: 32,
  deadline: NOW + 60_000,
  priceCap: { amount: '0.01', currency: 'USDC', per: '1k_tokens' },
  ...patch,
});

describe('pairing grants', () => {
  const { terms, event } = issueGrant(node, phone.publicKey, limits, NOW);

  it('verify with the issuing node key and give back their terms', () => {
    assert.deepEqual(verifyGrant(event, node.publicKey), terms);
    assert.equal(event.kind, EVENT_KIND_PAIRING_GRANT);
  });

  it('are refused when widened after signing or issued by another node', () => {
    const widened = { ...event, content: JSON.stringify({ ...terms, limits: { ...limits, maxTokens: 32768 } }) };
    assert.throws(() => verifyGrant(widened, node.publicKey), GrantSignatureError);
    assert.throws(() => verifyGrant(event, generateNodeKey().publicKey), GrantSignatureError);
  });

  it('are refused when the tags name another phone than the content', () => {
    const forged = signEnvelope(node, { kind: EVENT_KIND_PAIRING_GRANT, tags: [['d', terms.grantId], ['p', generateNodeKey().publicKey]], content: JSON.stringify(terms) });
    assert.throws(() => verifyGrant(forged, node.publicKey), /tags do not match/);
  });
});

describe('admitting a job within a grant', () => {
  const { terms } = issueGrant(node, phone.publicKey, limits, NOW);
  const cases: [string, Parameters<typeof admitJob>[0], string | null][] = [
    ['a job within every limit', { terms, request: request(), recentJobs: [], now: NOW }, null],
    ['a revoked grant', { terms, revokedAt: NOW - 1, request: request(), recentJobs: [], now: NOW }, 'revoked'],
    ['an expired grant', { terms, request: request(), recentJobs: [], now: NOW + 3_600_000 }, 'expired'],
    ['a model not granted', { terms, request: request({ model: { name: 'llama' } }), recentJobs: [], now: NOW }, 'model'],
    ['more tokens than granted', { terms, request: request({ maxTokens: 65 }), recentJobs: [], now: NOW }, 'max_tokens'],
    ['the hourly allowance used up', { terms, request: request(), recentJobs: [NOW - 10, NOW - 3_000_000], now: NOW }, 'rate'],
    ['jobs older than an hour not counted', { terms, request: request(), recentJobs: [NOW - 3_600_001, NOW - 10], now: NOW }, null],
    ['no price cap where one is granted', { terms, request: request({ priceCap: undefined }), recentJobs: [], now: NOW }, 'price_cap'],
    ['a price cap above the granted one', { terms, request: request({ priceCap: { amount: '0.050001', currency: 'USDC', per: '1k_tokens' } }), recentJobs: [], now: NOW }, 'price_cap'],
    ['a price cap in another currency', { terms, request: request({ priceCap: { amount: '0.01', currency: 'BTC', per: '1k_tokens' } }), recentJobs: [], now: NOW }, 'price_cap'],
    ['a price cap equal to the granted one', { terms, request: request({ priceCap: { amount: '0.0500', currency: 'USDC', per: '1k_tokens' } }), recentJobs: [], now: NOW }, null],
  ];
  for (const [name, parameters, reason] of cases) {
    it(`${reason ? 'refuses' : 'admits'} ${name}`, () => {
      const refusal = admitJob(parameters);
      assert.equal(refusal?.reason ?? null, reason);
      if (refusal) assert.match(refusal.message, new RegExp(`^pairing grant ${terms.grantId}: `));
    });
  }

  it('compares decimal amounts exactly', () => {
    assert.equal(compareDecimals('0.1', '0.10'), 0);
    assert.equal(compareDecimals('10', '9.999999999999999999'), 1);
    assert.equal(compareDecimals('0.30000000000000001', '0.3'), 1);
  });
});

describe('the grants a daemon enforces', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });
  const logger = silentLogger();

  it('lets keys without a grant through, counts a paired phone against its allowance across restarts, and obeys a revocation at once', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'infernet-grants-'));
    dirs.push(dir);
    const now = Date.now();
    const { terms } = await pairPhone({ homeDir: dir, key: node, phone: phone.npub, limits: { ...limits, expiresAt: now + 3_600_000 }, ws: 'ws://127.0.0.1:1' });
    const grants = new PhoneGrants(dir, node.publicKey, logger);
    assert.equal(await grants.admit(generateNodeKey().publicKey, request({ maxTokens: 30000 }), now), null, 'an ordinary client key');
    assert.equal(await grants.admit(phone.publicKey, request(), now), null);
    // A new daemon process reads the same activity back: the allowance is not reset by a restart.
    const restarted = new PhoneGrants(dir, node.publicKey, logger);
    assert.equal(await restarted.admit(phone.publicKey, request(), now + 1), null);
    const third = await restarted.admit(phone.publicKey, request(), now + 2);
    assert.equal(third?.code, 'grant_refused');
    assert.match(third?.message ?? '', /2 jobs in the last hour reach the granted 2 per hour/);
    await revokeGrants(dir, node.publicKey, phone.npub, undefined, now + 3);
    const revoked = await restarted.admit(phone.publicKey, request(), now + 3_600_000 - 1);
    assert.match(revoked?.message ?? '', /revoked/);
    const [listed] = await listGrants(dir, node.publicKey, now + 4);
    assert.equal(listed?.grantId, terms.grantId);
    assert.equal(listed?.status, 'revoked');
  });
});

describe('push messages for a finished job', () => {
  const tokens = [{ token: 'ExponentPushToken[a]', platform: 'expo' as const, registeredAt: 1 }, { token: 'ExponentPushToken[b]', platform: 'expo' as const, registeredAt: 2 }];
  it('go to every token of the phone and say how the job ended, never its output', () => {
    const messages = pushMessagesFor({ jobId: 'job-1', model: 'stories260K', state: 'completed', tokens: 24 }, tokens);
    assert.deepEqual(messages.map((message) => message.to), ['ExponentPushToken[a]', 'ExponentPushToken[b]']);
    assert.deepEqual(messages[0], { to: 'ExponentPushToken[a]', title: 'stories260K: completed', body: 'Completed: 24 tokens. Open the app to read the output.', data: { jobId: 'job-1', state: 'completed' } });
  });
  it('carry the reason of a failure', () => {
    const [message] = pushMessagesFor({ jobId: 'job-2', model: 'm', state: 'failed', error: { code: 'no_provider', message: 'no connected provider serves "m"' } }, tokens);
    assert.equal(message?.body, 'Failed: no connected provider serves "m"');
  });
});
