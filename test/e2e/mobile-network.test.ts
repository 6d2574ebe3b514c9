// The mobile app's network layer (apps/mobile/src/net, the same module the app bundles) against a real
// all-in-one daemon: pairing with a grant, a job followed from request to the completion notification, the
// job history synced from the node's PocketBase, push tokens and the push the node sends when the job ends (to a
// local HTTP server standing in for the Expo push service, which cannot be reached here), and the grant's
// limits and revocation.
import assert from 'node:assert/strict';
import { appendFile, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generatePhoneKey, NodeSessionError, parsePairingLink, PhoneClient, type JobEvent, type JobNotification, type PairingLink, type PhoneKey } from '../../apps/mobile/src/net/index.js';
import { sharedModelPath } from '../../src/models/shared-test-models.js';
import { eventually, runCli, startDaemon, type RunningDaemon } from '../support/cli.js';

const MODEL = 'stories260K';

describe('the mobile network layer against a real node', () => {
  let dir: string;
  let node: RunningDaemon;
  let phone: PhoneKey;
  let link: PairingLink;
  let grantId: string;
  let pushService: Server;
  const pushed: { to: string; title: string; body: string; data: { jobId: string; state: string } }[] = [];
  const clients: PhoneClient[] = [];
  const connect = async (pairing = link, key = phone) => {
    const client = await PhoneClient.connect(pairing, key);
    clients.push(client);
    return client;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infernet-mobile-'));
    const init = await runCli(['init', '--home', join(dir, 'node'), '--role', 'all', '--port', '0', '--sandbox', 'none', '--model', sharedModelPath('stories260K.gguf')]);
    assert.equal(init.code, 0, init.stderr);
    pushService = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        pushed.push(...(JSON.parse(body) as typeof pushed));
        response.writeHead(200, { 'content-type': 'application/json' }).end('{"data":[]}');
      });
    });
    await new Promise<void>((resolve) => pushService.listen(0, '127.0.0.1', resolve));
    const address = pushService.address();
    await appendFile(join(dir, 'node', 'config.yaml'), `\nmobile:\n  pushUrl: http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/push\n`);
    node = await startDaemon(join(dir, 'node'));
    phone = generatePhoneKey();
    const paired = await runCli(['pair', '--home', join(dir, 'node'), '--phone', phone.npub, '--models', MODEL, '--max-tokens', '48', '--jobs-per-hour', '20', '--json']);
    assert.equal(paired.code, 0, paired.stderr);
    const printed = JSON.parse(paired.stdout) as { url: string; node: string; ws: string; grantId: string; pocketbase: { url: string } | null };
    assert.equal(printed.node, node.npub);
    assert.equal(printed.ws, node.url);
    assert.ok(printed.pocketbase, 'the running daemon PocketBase is in the link');
    grantId = printed.grantId;
    link = parsePairingLink(printed.url);
    assert.deepEqual(link.grant?.models, [MODEL]);
  });

  after(async () => {
    for (const client of clients) client.close();
    await node?.stop();
    pushService?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('registers a push token that the node keeps for the phone', async () => {
    const client = await connect();
    await client.registerPushToken('ExponentPushToken[test-token-1]', 'expo');
    const listed = await runCli(['pair', 'list', '--home', join(dir, 'node'), '--json']);
    const grants = JSON.parse(listed.stdout) as { grantId: string; pushTokens: { token: string; platform: string }[]; jobsLastHour: number }[];
    const grant = grants.find((entry) => entry.grantId === grantId);
    assert.deepEqual(grant?.pushTokens.map(({ token, platform }) => [token, platform]), [['ExponentPushToken[test-token-1]', 'expo']]);
    assert.equal(grant?.jobsLastHour, 0);
  });

  it('submits a job, follows its status to completion and raises the completion notification', async () => {
    const client = await connect();
    const events: JobEvent[] = [];
    const notifications: JobNotification[] = [];
    client.subscribe({ onJobEvent: (event) => events.push(event), onNotification: (notification) => notifications.push(notification) });
    const historyStates: string[] = [];
    const job = client.submit({ model: MODEL, prompt: 'Once upon a time', maxTokens: 24 });
    const stopWatching = client.history!.watch((jobs) => {
      const row = jobs.find((candidate) => candidate.jobId === job.jobId);
      if (row && historyStates.at(-1) !== row.state) historyStates.push(row.state);
    });
    const done = await job.done;
    assert.equal(done.type, 'completed', JSON.stringify(done));
    assert.ok(done.type === 'completed' && done.output.length > 0 && done.tokens > 0 && done.tokens <= 24);
    const statuses = events.flatMap((event) => (event.type === 'status' ? [event.status] : []));
    assert.deepEqual(
      statuses.filter((status) => ['requested', 'matched', 'running', 'completed'].includes(status)),
      ['requested', 'matched', 'running', 'completed'],
    );
    const streamed = events.flatMap((event) => (event.type === 'text' ? [event.text] : [])).join('');
    assert.equal(streamed, done.type === 'completed' ? done.output : '');
    const completion = notifications.find((notification) => notification.kind === 'completed');
    assert.ok(completion, `a completion notification among ${JSON.stringify(notifications)}`);
    assert.equal(completion.jobId, job.jobId);
    assert.match(completion.title, /stories260K: done \(\d+ tokens\)/);
    assert.equal(completion.body, done.type === 'completed' ? done.output.slice(0, 120) + (done.output.length > 120 ? '…' : '') : '');
    assert.ok(notifications.some((notification) => notification.kind === 'running'), 'a notification when the job starts running');
    // The node's PocketBase, as the phone's history sees it: the job, now completed, with its state changes.
    await eventually(() => historyStates.at(-1) === 'completed', 15_000, 'the synced history to show the job completed');
    stopWatching();
    const snapshot = await client.history!.snapshot(job.jobId);
    assert.equal(snapshot.job?.client, phone.publicKey);
    assert.equal(snapshot.job?.state, 'completed');
    assert.deepEqual(snapshot.events.map((event) => event.to).slice(-1), ['completed']);
    assert.ok(snapshot.events.length >= 3, `state changes in the log snapshot: ${snapshot.events.map((event) => event.to).join(' -> ')}`);
    // The push for when the app is not running: to the registered token, saying how the job ended, no output.
    await eventually(() => pushed.some((message) => message.data.jobId === job.jobId), 10_000, 'the node to push the finished job');
    assert.deepEqual(pushed.find((message) => message.data.jobId === job.jobId), {
      to: 'ExponentPushToken[test-token-1]',
      title: 'stories260K: completed',
      body: `Completed: ${done.type === 'completed' ? done.tokens : 0} tokens. Open the app to read the output.`,
      data: { jobId: job.jobId, state: 'completed' },
    });
    const listed = JSON.parse((await runCli(['pair', 'list', '--home', join(dir, 'node'), '--json'])).stdout) as { jobsLastHour: number }[];
    assert.equal(listed[0]?.jobsLastHour, 1, 'the job counted against the hourly allowance');
  });

  it('refuses a push token from a key the node never paired', async () => {
    const stranger = await connect(link, generatePhoneKey());
    await assert.rejects(stranger.registerPushToken('ExponentPushToken[x]', 'expo'), (error: NodeSessionError) => error.code === 'grant_refused');
  });

  it('refuses jobs beyond the grant, naming the limit', async () => {
    const client = await connect();
    const tooLong = await client.submit({ model: MODEL, prompt: 'Once', maxTokens: 100 }).done;
    assert.equal(tooLong.type, 'failed');
    assert.ok(tooLong.type === 'failed' && tooLong.code === 'grant_refused' && /max tokens 100 is above the granted 48/.test(tooLong.message), JSON.stringify(tooLong));
    const otherModel = await client.submit({ model: 'llama-2-tiny-random', prompt: 'Once', maxTokens: 8 }).done;
    assert.ok(otherModel.type === 'failed' && /model "llama-2-tiny-random" is not granted/.test(otherModel.message), JSON.stringify(otherModel));
  });

  it('refuses a node whose key is not the one the link names', async () => {
    const impostor = { ...link, node: generatePhoneKey().npub };
    await assert.rejects(PhoneClient.connect(impostor, phone), (error: NodeSessionError) => error.code === 'wrong_node');
  });

  it('refuses every job once the grant is revoked, and the history account with it', async () => {
    const revoked = await runCli(['pair', 'revoke', grantId, '--home', join(dir, 'node')]);
    assert.equal(revoked.code, 0, revoked.stderr);
    assert.match(revoked.stdout, new RegExp(`revoked ${grantId}`));
    const client = await connect();
    const refused = await client.submit({ model: MODEL, prompt: 'Once', maxTokens: 8 }).done;
    assert.ok(refused.type === 'failed' && refused.code === 'grant_refused' && /revoked/.test(refused.message), JSON.stringify(refused));
    await assert.rejects(client.history!.jobs(), /cannot sign in/);
    const again = await runCli(['pair', 'revoke', grantId, '--home', join(dir, 'node')]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /no pairing grant with id or phone/);
  });
});
