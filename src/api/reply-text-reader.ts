// Reads a job's output as what its grammar made the model write, as it streams in: plain text; a forced tool call
// (`{"name": ..., "arguments": {...}}`); or, under tool_choice "auto", either such a call or an answer in text
// (`{"response": "..."}`), the alternation llama.cpp's server uses for generic chat templates. Each API's reply
// turns the pieces into its own deltas, and the end into its own message.
import { ToolCallParser, type ParsedToolCall, type ToolCallPiece } from './tool-call-parser.js';

/** text: no tools; call: a call is forced; auto: the model chose between a call and text. */
export type ReplyMode = 'text' | 'call' | 'auto';

export type ReplyPiece = ToolCallPiece | { text: string };

export interface ReadReply {
  /** The call the output is, if it is a whole one. */
  call?: ParsedToolCall;
  /** The answer's text when it is no call: under auto, the response string (what of it came, when cut short). */
  text: string;
}

/** The head of an answer in text under auto: what follows is a JSON string's body. */
const TEXT_HEAD = /^\s*\{\s*"response"\s*:\s*"/;
/** Whitespace aside, what may still become either head: no decision yet. */
const isUndecided = (text: string) => {
  const compact = text.replace(/\s+/g, '');
  return '{"response":"'.startsWith(compact) || '{"name"'.startsWith(compact);
};

export class ReplyTextReader {
  private readonly call?: ToolCallParser;
  /** Under auto: what came before the output's kind was known, or the undecoded rest of the response string. */
  private buffer = '';
  private kind?: 'call' | 'text';
  private closed = false;
  private decoded = '';

  constructor(private readonly mode: ReplyMode) {
    if (mode !== 'text') this.call = new ToolCallParser();
  }

  push(text: string): ReplyPiece[] {
    if (this.mode === 'text') return [{ text }];
    if (this.mode === 'call') return this.call!.push(text);
    if (this.kind === 'call') return this.call!.push(text);
    this.buffer += text;
    if (this.kind === undefined) {
      const head = TEXT_HEAD.exec(this.buffer);
      if (head) {
        this.kind = 'text';
        this.buffer = this.buffer.slice(head[0].length);
      } else if (!isUndecided(this.buffer)) {
        this.kind = 'call';
        const held = this.buffer;
        this.buffer = '';
        return this.call!.push(held);
      } else {
        return [];
      }
    }
    return this.decodeString();
  }

  /** The response string's body decoded as far as it is whole: an escape cut in two waits for its end. */
  private decodeString(): ReplyPiece[] {
    if (this.closed) return [];
    let out = '';
    let at = 0;
    const raw = this.buffer;
    while (at < raw.length) {
      const char = raw[at]!;
      if (char === '"') {
        this.closed = true;
        break;
      }
      if (char !== '\\') {
        out += char;
        at++;
        continue;
      }
      if (at + 1 >= raw.length) break;
      const escape = raw[at + 1]!;
      if (escape === 'u') {
        if (at + 6 > raw.length) break;
        out += String.fromCharCode(Number.parseInt(raw.slice(at + 2, at + 6), 16));
        at += 6;
        continue;
      }
      out += ({ n: '\n', t: '\t', r: '\r', b: '\b', f: '\f' } as Record<string, string>)[escape] ?? escape;
      at += 2;
    }
    this.buffer = raw.slice(at);
    this.decoded += out;
    return out ? [{ text: out }] : [];
  }

  /** The response string decoded so far (auto, answered in text). */
  get decodedText(): string {
    return this.decoded;
  }

  /** The whole output read: `output` is the job's, which a non-streamed reply never pushed. */
  end(output: string): ReadReply {
    if (this.mode === 'text') return { text: output };
    const call = parseCall(output);
    if (call) return { call, text: output };
    if (this.mode === 'call') return { text: output };
    const answer = answerOf(output);
    if (answer !== undefined) return { text: answer };
    // Cut short: the response string as far as it came, or the raw output when it never became one.
    return { text: TEXT_HEAD.test(output) ? partialStringOf(output) : output };
  }
}

function parseCall(output: string): ParsedToolCall | undefined {
  const parser = new ToolCallParser();
  parser.push(output);
  return parser.end();
}

function answerOf(output: string): string | undefined {
  try {
    const value = JSON.parse(output) as unknown;
    if (typeof value === 'object' && value !== null && typeof (value as { response?: unknown }).response === 'string' && Object.keys(value).length === 1) return (value as { response: string }).response;
  } catch {
    return undefined;
  }
  return undefined;
}

function partialStringOf(output: string): string {
  const reader = new ReplyTextReader('auto');
  reader.push(output);
  return reader.decodedText;
}

