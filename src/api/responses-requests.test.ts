import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from './api-error.js';
import { chatRequestOf, conversationOf, parseResponsesRequest, responsesJobSpec } from './responses-requests.js';

const JOB_ID = 'job-0123456789';
const request = (body: object) => parseResponsesRequest({ model: 'stories260K', input: 'Hi', ...body });
const refusal = (build: () => unknown): ApiError => {
  try {
    build();
  } catch (error) {
    if (error instanceof ApiError) return error;
    throw error;
  }
  return assert.fail('no refusal');
};

describe('Responses requests as chat completions', () => {
  it('puts the instructions first, then the kept turns, then the new input items', () => {
    const history = [{ role: 'user', content: 'Lily had a ball.' }, { role: 'assistant', content: 'Yes.' }];
    const input = [
      { type: 'function_call', call_id: 'call_1', name: 'get_time', arguments: '{"zone":"UTC"}' },
      { type: 'function_call_output', call_id: 'call_1', output: '12:00' },
      { role: 'user', content: [{ type: 'input_text', text: 'And now?' }] },
    ];
    const chat = chatRequestOf(request({ instructions: 'Be brief.', input, max_output_tokens: 9, text: { format: { type: 'json_object' } } }), history);
    assert.deepEqual(chat.messages, [
      { role: 'system', content: 'Be brief.' },
      ...history,
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_time', arguments: '{"zone":"UTC"}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '12:00' },
      { role: 'user', content: 'And now?' },
    ]);
    assert.equal(chat.max_tokens, 9);
    assert.deepEqual(chat.response_format, { type: 'json_object' });
    assert.deepEqual(conversationOf('Hi'), [{ role: 'user', content: 'Hi' }]);
  });

  it('refuses what it cannot honour naming the Responses field, not the chat one', () => {
    assert.equal(refusal(() => request({ reasoning: { effort: 'high' } })).param, 'reasoning');
    assert.equal(refusal(() => request({ tools: [{ type: 'web_search' }] })).param, 'tools[0].type');
    const strict = { type: 'function', name: 'count', parameters: { type: 'object', properties: { n: { type: 'integer', minimum: 1 } } } };
    assert.equal(refusal(() => responsesJobSpec(request({ tools: [strict], tool_choice: 'required' }), [], JOB_ID)).param, 'tools[0].parameters.properties.n.minimum');
    assert.equal(refusal(() => responsesJobSpec(request({ tools: [strict], tool_choice: { type: 'function', name: 'nope' } }), [], JOB_ID)).param, 'tool_choice.name');
  });

  it('takes the request an agent such as Codex sends on the Responses API, and refuses what it cannot honour of it', () => {
    const body = {
      model: 'stories260K',
      instructions: 'You are a coding agent.',
      input: [
        { type: 'message', role: 'developer', content: [{ type: 'input_text', text: '<permissions>workspace-write</permissions>' }] },
        { type: 'message', role: 'user', content: [{ type: 'input_text', text: 'List the files.' }] },
        { type: 'function_call', name: 'shell', arguments: '{"command":["ls"]}', call_id: 'call_7' },
        { type: 'function_call_output', call_id: 'call_7', output: [{ type: 'input_text', text: 'README.md' }, { type: 'input_text', text: 'src' }] },
      ],
      tools: [{ type: 'function', name: 'shell', description: 'Runs a command', strict: false, parameters: { type: 'object', properties: { command: { type: 'array', items: { type: 'string' } } }, required: ['command'] } }],
      tool_choice: 'auto',
      parallel_tool_calls: false,
      store: false,
      stream: true,
      include: [],
      prompt_cache_key: 'thread-1',
      client_metadata: { originator: 'codex_cli_rs' },
      max_tool_calls: 1,
      stream_options: { include_obfuscation: false },
    };
    const chat = chatRequestOf(parseResponsesRequest(body), []);
    assert.deepEqual((chat.messages as object[]).slice(-2), [
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_7', type: 'function', function: { name: 'shell', arguments: '{"command":["ls"]}' } }] },
      { role: 'tool', tool_call_id: 'call_7', content: 'README.md\nsrc' },
    ]);
    assert.equal(refusal(() => parseResponsesRequest({ ...body, max_tool_calls: 0 })).param, 'max_tool_calls');
    assert.equal(refusal(() => parseResponsesRequest({ ...body, stream_options: { include_obfuscation: true } })).param, 'stream_options.include_obfuscation');
    assert.equal(refusal(() => parseResponsesRequest({ ...body, include: ['reasoning.encrypted_content'] })).param, 'include[0]');
  });
});
