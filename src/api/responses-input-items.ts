// GET /v1/responses/{id}/input_items: the items a kept response was asked with, as OpenAI lists them (each with an
// id, message contents as typed parts), a page at a time: `limit` (1-100, default 20), `order` (desc by default:
// the newest item first), and `after` / `before` (an item id the page starts after, or ends before).
import { ApiError } from './api-error.js';
import type { ResponsesRequest } from './responses-requests.js';

export type InputItemObject = Record<string, unknown> & { id: string };

export interface InputItemPage {
  object: 'list';
  data: InputItemObject[];
  first_id: string | null;
  last_id: string | null;
  has_more: boolean;
}

const DEFAULT_PAGE = 20;
const MAX_PAGE = 100;

/** The request's input as OpenAI's input item objects; an item without an id is named after the response and its place. */
export function inputItemsOf(input: ResponsesRequest['input'], responseId: string): InputItemObject[] {
  const suffix = responseId.replace(/^resp_/, '');
  const items = typeof input === 'string' ? [{ role: 'user' as const, content: input }] : input;
  return items.map((item, index): InputItemObject => {
    if ('type' in item && item.type === 'function_call') return { id: item.id ?? `fc_${suffix}_${index}`, type: 'function_call', status: 'completed', call_id: item.call_id, name: item.name, arguments: item.arguments };
    if ('type' in item && item.type === 'function_call_output') return { id: item.id ?? `fco_${suffix}_${index}`, type: 'function_call_output', status: 'completed', call_id: item.call_id, output: item.output };
    const message = item as Extract<typeof item, { role: string }>;
    const content = typeof message.content === 'string' ? [{ type: message.role === 'assistant' ? 'output_text' : 'input_text', text: message.content }] : message.content;
    return { id: message.id ?? `msg_${suffix}_${index}`, type: 'message', role: message.role, status: 'completed', content };
  });
}

/** One page of items under the query's limit, order, after and before; refuses a malformed value with 400. */
export function pageOfInputItems(items: readonly InputItemObject[], query: URLSearchParams): InputItemPage {
  const limit = query.has('limit') ? Number(query.get('limit')) : DEFAULT_PAGE;
  if (!Number.isInteger(limit) || limit < 1 || limit > MAX_PAGE) throw new ApiError(400, 'invalid_value', `limit must be an integer from 1 to ${MAX_PAGE}`, 'limit');
  const order = query.get('order') ?? 'desc';
  if (order !== 'asc' && order !== 'desc') throw new ApiError(400, 'invalid_value', "order must be 'asc' or 'desc'", 'order');
  let ordered = order === 'asc' ? [...items] : [...items].reverse();
  for (const [param, keep] of [['after', (at: number) => ordered.slice(at + 1)], ['before', (at: number) => ordered.slice(0, at)]] as const) {
    const id = query.get(param);
    if (id === null) continue;
    const at = ordered.findIndex((item) => item.id === id);
    if (at < 0) throw new ApiError(400, 'invalid_value', `no input item '${id}' in this response`, param);
    ordered = keep(at);
  }
  const data = ordered.slice(0, limit);
  return { object: 'list', data, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null, has_more: ordered.length > data.length };
}
