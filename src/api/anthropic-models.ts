// Anthropic's GET /v1/models and GET /v1/models/{id} on the path OpenAI's clients use for theirs: a request that
// carries `anthropic-version` (Anthropic's SDKs send it on every call) gets Anthropic's model objects and its
// cursor pages (limit, after_id, before_id); every other request gets OpenAI's list as before.
import type { IncomingMessage } from 'node:http';
import { badRequest } from './api-error.js';

/** Anthropic's default and largest page. */
const DEFAULT_PAGE_SIZE = 20;
const MAX_PAGE_SIZE = 1000;

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

export interface AnthropicModelPage {
  data: ReturnType<typeof anthropicModelInfo>[];
  has_more: boolean;
  first_id: string | null;
  last_id: string | null;
}

/**
 * One page of the models, in the order the network lists them: `after_id` pages forward from that model,
 * `before_id` backward to it; `has_more` says whether the list goes on in the direction paged.
 */
export function anthropicModelPage(models: readonly string[], createdAt: string, query: URLSearchParams): AnthropicModelPage {
  const limit = pageSizeOf(query.get('limit'));
  const afterId = query.get('after_id');
  const beforeId = query.get('before_id');
  if (afterId !== null && beforeId !== null) throw badRequest('Send after_id or before_id, not both.', 'after_id');
  let start = 0;
  let end = models.length;
  if (afterId !== null) start = positionOf(models, afterId, 'after_id') + 1;
  if (beforeId !== null) end = positionOf(models, beforeId, 'before_id');
  const [from, to] = beforeId !== null ? [Math.max(start, end - limit), end] : [start, Math.min(end, start + limit)];
  const page = models.slice(from, to);
  return {
    data: page.map((id) => anthropicModelInfo(id, createdAt)),
    has_more: beforeId !== null ? from > 0 : to < models.length,
    first_id: page[0] ?? null,
    last_id: page.at(-1) ?? null,
  };
}

function pageSizeOf(value: string | null): number {
  if (value === null) return DEFAULT_PAGE_SIZE;
  const size = Number(value);
  if (!/^\d+$/.test(value) || size < 1 || size > MAX_PAGE_SIZE) throw badRequest(`Invalid 'limit': ${JSON.stringify(value)} is not a whole number from 1 to ${MAX_PAGE_SIZE}.`, 'limit');
  return size;
}

function positionOf(models: readonly string[], id: string, param: 'after_id' | 'before_id'): number {
  const position = models.indexOf(id);
  if (position < 0) throw badRequest(`Invalid '${param}': no model ${JSON.stringify(id)} is listed (the network's models change as providers come and go).`, param);
  return position;
}
