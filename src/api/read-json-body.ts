// Reads a request body within a size limit and parses it as JSON, refusing in OpenAI's error shape.
import type { IncomingMessage } from 'node:http';
import { ApiError, badRequest } from './api-error.js';

/** Chat histories are text: a mebibyte is far more than any context our providers hold. */
export const MAX_BODY_BYTES = 1024 * 1024;

export const bodyTooLarge = (limit: number) => new ApiError(413, 'request_too_large', `The request body is larger than ${limit} bytes.`);

export async function readJsonBody(request: IncomingMessage, limit = MAX_BODY_BYTES): Promise<unknown> {
  // A declared length over the limit is refused before a byte of it is read.
  if (Number(request.headers['content-length'] ?? 0) > limit) throw bodyTooLarge(limit);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) throw bodyTooLarge(limit);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (!text.trim()) throw badRequest('The request body is empty: send a JSON object.');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw badRequest(`The request body is not valid JSON: ${(error as Error).message}`);
  }
}
