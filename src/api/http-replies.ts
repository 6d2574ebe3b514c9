// Writing responses: JSON bodies, OpenAI-shaped errors, and server-sent event streams in OpenAI's framing
// (`data: <json>` events, `data: [DONE]` at the end, an `{error}` event instead when a job fails mid-way), or
// Anthropic's (named events).
import type { ServerResponse } from 'node:http';
import type { ApiError } from './api-error.js';

export type ResponseHeaders = Record<string, string>;

export function sendJson(response: ServerResponse, status: number, body: object, headers: ResponseHeaders = {}): void {
  if (response.headersSent || response.destroyed) return;
  const text = JSON.stringify(body);
  response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  response.end(text);
}

/** `body` is the error in another API's shape (Ollama's, Anthropic's); OpenAI's by default. */
export function sendError(response: ServerResponse, error: ApiError, headers: ResponseHeaders = {}, body: object = error.toBody()): void {
  const extra: ResponseHeaders = error.status === 401 ? { 'www-authenticate': 'Bearer' } : error.status === 503 ? { 'retry-after': '1' } : {};
  sendJson(response, error.status, body, { ...extra, ...headers });
}

/** One server-sent event stream; the status line and headers go out with the first event. */
export class EventStream {
  constructor(private readonly response: ServerResponse) {}

  get opened(): boolean {
    return this.response.headersSent;
  }

  open(headers: ResponseHeaders): void {
    if (this.opened || this.response.destroyed) return;
    this.response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no', ...headers });
    // Tokens are small and latency is the point: no waiting to fill a packet.
    this.response.socket?.setNoDelay(true);
  }

  /** `event` names the event, as Anthropic's streams do; OpenAI's carry data alone. */
  send(data: object, event?: string): void {
    if (!this.response.destroyed) this.response.write(`${event ? `event: ${event}\n` : ''}data: ${JSON.stringify(data)}\n\n`);
  }

  /** Ends the stream without OpenAI's [DONE] (Anthropic's streams end with their message_stop event). */
  end(): void {
    if (!this.response.destroyed) this.response.end();
  }

  done(): void {
    if (!this.response.destroyed) this.response.end('data: [DONE]\n\n');
  }

  /** Ends the stream with OpenAI's error event: clients raise it as an API error, and no [DONE] follows. */
  fail(error: ApiError): void {
    if (this.response.destroyed) return;
    this.response.end(`data: ${JSON.stringify(error.toBody())}\n\n`);
  }
}
