// List pages as the SDKs walk them. OpenAI's (CursorPage: `after` = the last id of the page before): `limit`,
// `order` (desc by default: the newest first), and `after` / `before` (an id the page starts after, or ends before).
// Anthropic's (Page): `limit`, `after_id` forward from the page's last id, `before_id` backward from its first.
import type { IncomingMessage } from 'node:http';
import { ApiError, badRequest } from './api-error.js';

/** The query a page is cut by. */
export const queryOf = (request: IncomingMessage): URLSearchParams => new URL(request.url ?? '/', 'http://api').searchParams;

export interface CursorPage<T> {
  object: 'list';
  data: T[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

export interface CursorPageRules {
  defaultLimit: number;
  maxLimit: number;
  /** The order without `order` in the query: desc (the newest first) unless the list's API says otherwise. */
  defaultOrder?: 'asc' | 'desc';
  /** The refusal's message for a cursor that names nothing listed. */
  unknownCursor: (id: string) => string;
}

/** OpenAI's list pages: 20 items unless `limit` says, at most 100. */
export const OPENAI_PAGE_LIMITS = { defaultLimit: 20, maxLimit: 100 } as const;

/** One page of `items` (oldest first) under the query's limit, order, after and before; a malformed value is 400 naming it. */
export function cursorPage<T extends { id: string }>(items: readonly T[], query: URLSearchParams, rules: CursorPageRules): CursorPage<T> {
  const limit = query.has('limit') ? Number(query.get('limit')) : rules.defaultLimit;
  if (!Number.isInteger(limit) || limit < 1 || limit > rules.maxLimit) throw new ApiError(400, 'invalid_value', `limit must be an integer from 1 to ${rules.maxLimit}`, 'limit');
  const order = query.get('order') ?? rules.defaultOrder ?? 'desc';
  if (order !== 'asc' && order !== 'desc') throw new ApiError(400, 'invalid_value', "order must be 'asc' or 'desc'", 'order');
  let ordered = order === 'asc' ? [...items] : [...items].reverse();
  for (const [param, keep] of [['after', (at: number) => ordered.slice(at + 1)], ['before', (at: number) => ordered.slice(0, at)]] as const) {
    const id = query.get(param);
    if (id === null) continue;
    const at = ordered.findIndex((item) => item.id === id);
    if (at < 0) throw new ApiError(400, 'invalid_value', rules.unknownCursor(id), param);
    ordered = keep(at);
  }
  const data = ordered.slice(0, limit);
  return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: ordered.length > data.length };
}

export interface AnthropicPage<T> {
  data: T[];
  has_more: boolean;
  first_id: string | null;
  last_id: string | null;
}

/** Anthropic's default and largest page. */
const ANTHROPIC_DEFAULT_LIMIT = 20;
const ANTHROPIC_MAX_LIMIT = 1000;

/**
 * One page of `items` in their listed order: `after_id` pages forward from that item, `before_id` backward to it
 * (the `limit` items just before it); `has_more` says whether the list goes on in the direction paged.
 */
export function anthropicPage<T extends { id: string }>(items: readonly T[], query: URLSearchParams, unknownCursor: (id: string) => string): AnthropicPage<T> {
  const limit = anthropicLimitOf(query.get('limit'));
  const afterId = query.get('after_id');
  const beforeId = query.get('before_id');
  if (afterId !== null && beforeId !== null) throw badRequest('Send after_id or before_id, not both.', 'after_id');
  const positionOf = (id: string, param: string) => {
    const position = items.findIndex((item) => item.id === id);
    if (position < 0) throw badRequest(`Invalid '${param}': ${unknownCursor(id)}`, param);
    return position;
  };
  const start = afterId !== null ? positionOf(afterId, 'after_id') + 1 : 0;
  const end = beforeId !== null ? positionOf(beforeId, 'before_id') : items.length;
  const [from, to] = beforeId !== null ? [Math.max(start, end - limit), end] : [start, Math.min(end, start + limit)];
  const data = items.slice(from, to);
  return { data, has_more: beforeId !== null ? from > 0 : to < items.length, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
}

function anthropicLimitOf(value: string | null): number {
  if (value === null) return ANTHROPIC_DEFAULT_LIMIT;
  const size = Number(value);
  if (!/^\d+$/.test(value) || size < 1 || size > ANTHROPIC_MAX_LIMIT) throw badRequest(`Invalid 'limit': ${JSON.stringify(value)} is not a whole number from 1 to ${ANTHROPIC_MAX_LIMIT}.`, 'limit');
  return size;
}
