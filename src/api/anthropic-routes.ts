// Anthropic's Messages API on the API's port (POST /v1/messages): each request is one Infernet job, as on the
// OpenAI routes; the key comes as `x-api-key` (Anthropic's SDK) or `Authorization: Bearer`.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AnthropicReply } from './anthropic-reply.js';
import { messagesJobSpec, parseMessagesRequest, replyModeOfMessages } from './anthropic-requests.js';
import { readJsonBody } from './read-json-body.js';
import { serveJobs, type CompletionServices } from './serve-completion.js';

export const ANTHROPIC_PATHS = ['/v1/messages'] as const;

/** Its Messages API and what lies under it (Message Batches): errors there are Anthropic's. */
export const isAnthropicPath = (path: string) => (ANTHROPIC_PATHS as readonly string[]).includes(path) || path.startsWith('/v1/messages/');

type Route = (request: IncomingMessage, response: ServerResponse, path: string) => Promise<void>;

export function anthropicRoutes(services: CompletionServices): Record<string, Record<string, Route>> {
  return {
    '/v1/messages': {
      POST: async (request, response) => {
        const body = parseMessagesRequest(await readJsonBody(request));
        const spec = messagesJobSpec(body, randomUUID());
        const reply = new AnthropicReply(response, { model: body.model, jobId: spec.jobId, stream: body.stream === true, stopSequences: body.stop_sequences ?? [], mode: replyModeOfMessages(body) });
        await serveJobs([spec], reply, response, services);
      },
    },
  };
}
