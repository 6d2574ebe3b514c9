// POST /v1/files on a real HTTP server on loopback. An upload never reaches the batch store, so the store here is a
// stand-in that fails the test if it is touched (a PocketBase store is not needed to prove a body limit).
import assert from 'node:assert/strict';
import { createServer, request as httpRequest, type Server } from 'node:http';
import { mkdtemp, readdir } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BatchStore } from '../batch/index.js';
import { ApiError } from './api-error.js';
import { batchApiRoutes } from './batch-routes.js';
import { sendError } from './http-replies.js';

const CAP = 64 * 1024;
const BOUNDARY = 'infernet-test-boundary';

const untouchedStore = new Proxy({} as BatchStore, {
  get: (_target, name) => () => assert.fail(`an upload touched the batch store (${String(name)})`),
});

/** A multipart upload of `fileBytes` bytes, sent chunked (no Content-Length), as a streaming client sends it. */
function chunkedUpload(url: string, fileBytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(`${url}/v1/files`, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${BOUNDARY}`, 'transfer-encoding': 'chunked' } }, (response) => {
      response.resume();
      resolve(response.statusCode ?? 0);
    });
    // The server may answer and close before the whole body went: what is left unsent does not matter.
    request.on('error', (error: NodeJS.ErrnoException) => (error.code === 'EPIPE' || error.code === 'ECONNRESET' ? undefined : reject(error)));
    request.write(`--${BOUNDARY}\r\ncontent-disposition: form-data; name="purpose"\r\n\r\nbatch\r\n`);
    request.write(`--${BOUNDARY}\r\ncontent-disposition: form-data; name="file"; filename="input.jsonl"\r\ncontent-type: application/jsonl\r\n\r\n`);
    const line = Buffer.from(`${JSON.stringify({ custom_id: 'r', method: 'POST', url: '/v1/chat/completions', body: {} }).padEnd(1023)}\n`);
    for (let sent = 0; sent < fileBytes; sent += line.length) request.write(line);
    request.end(`\r\n--${BOUNDARY}--\r\n`);
  });
}

describe('POST /v1/files without a Content-Length', () => {
  let server: Server;
  let url: string;
  let filesDir: string;

  before(async () => {
    filesDir = join(await mkdtemp(join(tmpdir(), 'infernet-files-')), 'files');
    const routes = batchApiRoutes({ store: untouchedStore, filesDir, maxFileBytes: CAP });
    server = createServer((request, response) => {
      routes('/v1/files')!.POST!(request, response, '/v1/files').catch((error: unknown) => {
        const failure = error instanceof ApiError ? error : new ApiError(500, 'internal', String(error));
        sendError(response, failure, failure.status === 413 ? { connection: 'close' } : {});
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('refuses a chunked upload past the cap with 413 and stores nothing, instead of buffering it whole', async () => {
    assert.equal(await chunkedUpload(url, 16 * CAP), 413);
    assert.deepEqual(await readdir(filesDir).catch(() => []), []);
  });

  it('stores a chunked upload within the cap', async () => {
    assert.equal(await chunkedUpload(url, CAP / 2), 200);
    assert.equal((await readdir(filesDir)).length, 2, 'the file and its object');
  });
});
