// Anthropic's GET /v1/models and GET /v1/models/{id} on the path OpenAI's clients use for theirs: a request that
// carries `anthropic-version` (Anthropic's SDKs send it on every call) gets Anthropic's model objects and its
// cursor pages (limit, after_id, before_id); every other request gets OpenAI's list as before.
import type { IncomingMessage } from 'node:http';
import { anthropicPage, type AnthropicPage } from './cursor-page.js';

export const isAnthropicClient = (request: IncomingMessage): boolean => request.headers['anthropic-version'] !== undefined;

/**
 * A model as Anthropic describes one. What Infernet cannot know of a network model (its context window, its
 * capabilities: each provider's engine decides) is null, as Anthropic's own objects leave unknown fields.
 */
export function anthropicModelInfo(id: string, createdAt: string) {
  return {
    type: 'model' as const,
    id,
    display_name: id,
    created_at: createdAt,
    capabilities: null,
    deprecated_at: null,
    lifecycle: 'active' as const,
    line: null,
    max_input_tokens: null,
    max_tokens: null,
    retires_at: null,
  };
}

export type AnthropicModelPage = AnthropicPage<ReturnType<typeof anthropicModelInfo>>;

/** One page of the models, in the order the network lists them (cursor-page's anthropicPage). */
export function anthropicModelPage(models: readonly string[], createdAt: string, query: URLSearchParams): AnthropicModelPage {
  return anthropicPage(
    models.map((id) => anthropicModelInfo(id, createdAt)),
    query,
    (id) => `no model ${JSON.stringify(id)} is listed (the network's models change as providers come and go).`,
  );
}
