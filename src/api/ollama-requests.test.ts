import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chatJobSpecOf, parseOllamaChat } from './ollama-requests.js';

const WEATHER = { type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string', minLength: 1 } }, required: ['city'] } } };
const spec = (body: object) => chatJobSpecOf(parseOllamaChat({ model: 'stories260K', messages: [{ role: 'user', content: 'Weather?' }], ...body }), 'job-0123456789', 1_000);

describe('Ollama chat with tools as a job spec', () => {
  it('lets the model choose between a call and text, with non-strict schemas, as under OpenAI tool_choice auto', () => {
    const format = spec({ tools: [WEATHER] }).sampling.format as unknown as { schema: { oneOf: Array<{ properties: Record<string, unknown> }> } };
    assert.deepEqual(format.schema.oneOf.map((branch) => Object.keys(branch.properties)), [['name', 'arguments'], ['response']]);
  });

  it('puts earlier calls (arguments as objects) and tool results into the history as text', () => {
    const messages = [
      { role: 'user', content: 'Weather?' },
      { role: 'assistant', content: '', tool_calls: [{ function: { name: 'get_weather', arguments: { city: 'Oslo' } } }] },
      { role: 'tool', content: 'Snow', tool_name: 'get_weather' },
    ];
    const input = spec({ tools: [WEATHER], messages }).input as { messages: Array<{ role: string; content: string }> };
    assert.deepEqual(input.messages.slice(1), [
      { role: 'user', content: 'Weather?' },
      { role: 'assistant', content: '{"name":"get_weather","arguments":{"city":"Oslo"}}' },
      { role: 'user', content: 'Tool result (call get_weather): Snow' },
    ]);
  });
});
