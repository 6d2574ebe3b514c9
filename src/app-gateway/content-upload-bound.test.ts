// Threat model attack 13: an upload from the interface is written to the node's disk as it comes. It must be
// refused with 413 once it passes the upload limit (a declared length at once, a chunked body when it gets there),
// and leave nothing behind, instead of filling the disk.
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createApiKey } from '../api/api-keys.js';
import { validateNodeConfig } from '../config/index.js';
import { generateNodeKey } from '../identity/index.js';
import { silentLogger } from '../log/index.js';
import { AppGateway, type AppGatewayOptions } from './app-gateway.js';
import { APP_CONTENT_PATH } from './app-messages.js';

const LIMIT = 256 * 1024;
const CHUNK = 16 * 1024;
/** What the attacker offers to send: far past the limit. */
const OFFERED_CHUNKS = 1024;

interface UploadAnswer {
  status: number;
  /** Chunks the client could write before the server answered or closed. */
  written: number;
}

function upload(port: number, token: string, declaredLength?: number, chunks = OFFERED_CHUNKS): Promise<UploadAnswer> {
  return new Promise((resolve, reject) => {
    let written = 0;
    let answered = false;
    const request = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: `${APP_CONTENT_PATH}?name=big.bin&kind=other`, headers: { authorization: `Bearer ${token}`, ...(declaredLength !== undefined ? { 'content-length': String(declaredLength) } : {}) } }, (response) => {
      answered = true;
      response.resume();
      response.once('end', () => resolve({ status: response.statusCode ?? 0, written }));
    });
    request.on('error', (error) => (answered ? undefined : reject(error)));
    const chunk = Buffer.alloc(CHUNK, 7);
    const writeMore = (): void => {
      while (!answered && !request.destroyed && written < chunks) {
        written++;
        if (!request.write(chunk)) return void request.once('drain', writeMore);
      }
      if (written >= chunks && !answered) request.end();
    };
    writeMore();
  });
}

describe('content uploads from the interface', () => {
  let home: string;
  let server: Server;
  let token: string;
  let port: number;

  before(async () => {
    home = await mkdtemp(join(tmpdir(), 'infernet-upload-bound-'));
    const keysFile = join(home, 'api-keys.json');
    token = (await createApiKey(keysFile, 'test')).key;
    const key = generateNodeKey();
    // A variable, not a literal: the same test compiles against a gateway that takes no upload limit.
    const options: AppGatewayOptions & { maxUploadBytes: number } = {
      homeDir: home,
      keysFile,
      key,
      node: { npub: 'npub', publicKey: key.publicKey, role: 'client', agent: 'test', url: null, startedAt: new Date().toISOString() },
      logger: silentLogger(),
      pocketBaseUrl: null,
      aggregators: [],
      agent: 'test',
      limits: validateNodeConfig({}, 'test').limits,
      modelPaths: [],
      maxUploadBytes: LIMIT,
    };
    const gateway = await AppGateway.open(options);
    server = createServer((request, response) => gateway.serve(request, response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as { port: number }).port;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rm(home, { recursive: true, force: true });
  });

  const leftInUploads = async () => (await readdir(join(home, 'uploads')).catch(() => [])).length;

  it('takes an upload within the limit, chunked', async () => {
    const answer = await upload(port, token, undefined, 4);
    assert.equal(answer.status, 200);
    assert.equal(await leftInUploads(), 0, 'the store keeps its own copy');
  });

  it('refuses a declared length over the limit with 413 before reading it', async () => {
    const answer = await upload(port, token, OFFERED_CHUNKS * CHUNK);
    assert.equal(answer.status, 413);
    assert.equal(await leftInUploads(), 0);
  });

  it('refuses a chunked body with 413 once it passes the limit, and keeps none of it', async () => {
    const answer = await upload(port, token);
    assert.equal(answer.status, 413);
    assert.ok(answer.written < OFFERED_CHUNKS, 'the server stopped the upload before it was all sent');
    assert.equal(await leftInUploads(), 0);
  });
});
