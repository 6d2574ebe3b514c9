// A forced tool call as a JSON schema the decoding grammar enforces: `{"name": <one of the tools>, "arguments":
// <that tool's parameters>}`, so the output is a call the client can parse whatever the model. Pure, like
// json-schema-grammar.ts: the client node builds it before the job leaves, and a schema it cannot enforce is a 400.
import { grammarSchemaOf, UnsupportedJsonSchemaError } from './json-schema-grammar.js';
import { InfernetError } from '../errors/index.js';

export interface ToolDefinition {
  name: string;
  description?: string | undefined;
  /** JSON Schema of the arguments object; absent: a tool that takes none. */
  parameters?: Record<string, unknown> | undefined;
  /** Unenforceable keywords are refused (OpenAI's `strict`), else dropped. */
  strict?: boolean | undefined;
}

/** A tool's parameters schema the grammar cannot enforce: which tool, and the issue. */
export class UnsupportedToolSchemaError extends InfernetError {
  override readonly name = 'UnsupportedToolSchemaError';
  constructor(
    readonly toolIndex: number,
    readonly schemaError: UnsupportedJsonSchemaError,
  ) {
    super('invalid_frame', `tool ${toolIndex}: ${schemaError.message}`, { cause: schemaError });
  }
}

const NO_ARGUMENTS = { type: 'object', properties: {}, additionalProperties: false };

/** The schema of one call of any of `tools` (in the grammar's dialect): name first, then its arguments. */
export function toolCallSchemaOf(tools: readonly ToolDefinition[]): Record<string, unknown> {
  const calls = tools.map((tool, index) => {
    let parameters: Record<string, unknown>;
    try {
      parameters = grammarSchemaOf(tool.parameters ?? NO_ARGUMENTS, { strict: tool.strict === true });
    } catch (error) {
      if (error instanceof UnsupportedJsonSchemaError) throw new UnsupportedToolSchemaError(index, error);
      throw error;
    }
    return { type: 'object', properties: { name: { const: tool.name }, arguments: parameters }, required: ['name', 'arguments'], additionalProperties: false };
  });
  return calls.length === 1 ? calls[0]! : { oneOf: calls };
}

/**
 * The system prompt that tells the model which tools it has and how a call is written. The grammar enforces the
 * form; this gives the model a chance to fill it sensibly.
 */
export function toolPromptOf(tools: readonly ToolDefinition[]): string {
  const lines = tools.map((tool) => `- ${tool.name}${tool.description ? `: ${tool.description}` : ''}\n  arguments (JSON Schema): ${JSON.stringify(tool.parameters ?? NO_ARGUMENTS)}`);
  return `You have these tools:\n${lines.join('\n')}\nAnswer with one tool call as a JSON object: {"name": <tool name>, "arguments": <its arguments>}.`;
}

/** How an earlier call appears in a conversation's history, in the form the prompt asks for. */
export const toolCallText = (name: string, args: unknown) => JSON.stringify({ name, arguments: args });

/** How a tool's result appears in a conversation's history (as a user turn: chat templates know no tool role). */
export const toolResultText = (callId: string, content: string) => `Tool result (call ${callId}): ${content}`;
