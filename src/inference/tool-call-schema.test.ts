import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { toolCallSchemaOf, toolPromptOf, UnsupportedToolSchemaError } from './tool-call-schema.js';

const WEATHER = { name: 'get_weather', description: 'The weather in a city', parameters: { type: 'object', properties: { city: { type: 'string', description: 'City name' } }, required: ['city'] } };

describe('forced tool calls as grammar schemas', () => {
  it('makes one tool a call object with its name as a constant and its parameters as the arguments', () => {
    assert.deepEqual(toolCallSchemaOf([WEATHER]), {
      type: 'object',
      properties: { name: { const: 'get_weather' }, arguments: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
      required: ['name', 'arguments'],
      additionalProperties: false,
    });
  });

  it('makes several tools a oneOf, and a tool without parameters one with an empty arguments object', () => {
    const schema = toolCallSchemaOf([WEATHER, { name: 'now' }]) as { oneOf: Array<{ properties: { arguments: unknown } }> };
    assert.equal(schema.oneOf.length, 2);
    assert.deepEqual(schema.oneOf[1]!.properties.arguments, { type: 'object', properties: {}, additionalProperties: false });
  });

  it('refuses under strict a parameters keyword the grammar cannot enforce, naming the tool and the path', () => {
    const strictTool = { name: 'count', strict: true, parameters: { type: 'object', properties: { n: { type: 'integer', minimum: 1 } } } };
    assert.throws(() => toolCallSchemaOf([WEATHER, strictTool]), (error: unknown) => error instanceof UnsupportedToolSchemaError && error.toolIndex === 1 && error.schemaError.issue.path === 'properties.n.minimum');
    assert.doesNotThrow(() => toolCallSchemaOf([{ ...strictTool, strict: false }]));
  });

  it('describes the tools and the form of a call in the system prompt', () => {
    const prompt = toolPromptOf([WEATHER]);
    assert.match(prompt, /get_weather: The weather in a city/);
    assert.match(prompt, /"city"/);
    assert.match(prompt, /\{"name": <tool name>, "arguments": <its arguments>\}/);
  });
});
