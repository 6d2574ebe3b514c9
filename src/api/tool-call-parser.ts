// Reads a forced tool call (`{"name": "...", "arguments": {...}}`, as the grammar of inference/tool-call-schema.ts
// makes the model write it) as its text streams in: the name once it is complete, then the arguments' JSON text
// piece by piece, so the OpenAI and Anthropic streams can send tool-call deltas as the provider decodes.

export type ToolCallPiece = { name: string } | { arguments: string };

export interface ParsedToolCall {
  name: string;
  /** The arguments object's JSON text, as the model wrote it. */
  arguments: string;
  input: Record<string, unknown>;
}

/** The call's head up to its arguments: the grammar puts the name first. */
const HEAD = /^\s*\{\s*"name"\s*:\s*("(?:[^"\\]|\\.)*")\s*,\s*"arguments"\s*:\s*/;
/** What may still be the wrapper's end (`}` with whitespace) rather than the arguments'. */
const HELD_TAIL = /\s*\}?\s*$/;

export class ToolCallParser {
  private buffer = '';
  private name?: string;
  private argumentsText = '';

  /** The pieces this text completes: the name once, then arguments text, holding back what may close the call. */
  push(text: string): ToolCallPiece[] {
    this.buffer += text;
    const pieces: ToolCallPiece[] = [];
    if (this.name === undefined) {
      const head = HEAD.exec(this.buffer);
      if (!head) return pieces;
      this.name = JSON.parse(head[1]!) as string;
      this.buffer = this.buffer.slice(head[0].length);
      pieces.push({ name: this.name });
    }
    // Whitespace before the arguments' first character is the wrapper's.
    if (!this.argumentsText) this.buffer = this.buffer.trimStart();
    const held = HELD_TAIL.exec(this.buffer)!.index;
    if (held > 0) {
      const piece = this.buffer.slice(0, held);
      this.argumentsText += piece;
      this.buffer = this.buffer.slice(held);
      pieces.push({ arguments: piece });
    }
    return pieces;
  }

  /** The whole call, or undefined when the text is not one (the job ran out of tokens before it closed). */
  end(): ParsedToolCall | undefined {
    if (this.name === undefined || !/^\s*\}\s*$/.test(this.buffer)) return undefined;
    try {
      const input = JSON.parse(this.argumentsText) as unknown;
      if (typeof input !== 'object' || input === null || Array.isArray(input)) return undefined;
      return { name: this.name, arguments: this.argumentsText, input: input as Record<string, unknown> };
    } catch {
      return undefined;
    }
  }
}

/** A finished job's output read as a call. */
export function parseToolCall(output: string): ParsedToolCall | undefined {
  const parser = new ToolCallParser();
  parser.push(output);
  return parser.end();
}
