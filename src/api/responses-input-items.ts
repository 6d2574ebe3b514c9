// GET /v1/responses/{id}/input_items: the items a kept response was asked with, as OpenAI lists them (each with an
// id, message contents as typed parts), a page at a time: `limit` (1-100, default 20), `order` (desc by default:
// the newest item first), and `after` / `before` (an item id the page starts after, or ends before).
import { cursorPage, OPENAI_PAGE_LIMITS, type CursorPage } from './cursor-page.js';
import type { ResponsesRequest } from './responses-requests.js';

export type InputItemObject = Record<string, unknown> & { id: string };

export type InputItemPage = CursorPage<InputItemObject>;


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
  return cursorPage(items, query, { ...OPENAI_PAGE_LIMITS, unknownCursor: (id) => `no input item '${id}' in this response` });
}
