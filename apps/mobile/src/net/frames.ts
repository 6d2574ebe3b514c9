// Bytes from the node to a typed frame: JSON, version, type, then the node's schema for that type.
import { FRAME_SCHEMAS, SUPPORTED_PROTOCOL_VERSIONS, type Frame, type FrameType } from './protocol.js';

export class FrameParseError extends Error {
  override readonly name = 'FrameParseError';
}

export const MAX_FRAME_CHARACTERS = 4 * 1024 * 1024;

export function parseNodeFrame(text: string): Frame {
  if (text.length > MAX_FRAME_CHARACTERS) throw new FrameParseError(`frame of ${text.length} characters is too large`);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new FrameParseError(`frame is not JSON: ${(cause as Error).message}`, { cause });
  }
  const { v, type } = (value ?? {}) as { v?: unknown; type?: unknown };
  if (typeof v !== 'number' || !(SUPPORTED_PROTOCOL_VERSIONS as readonly number[]).includes(v)) throw new FrameParseError(`unsupported protocol version ${String(v)}`);
  if (typeof type !== 'string' || !(type in FRAME_SCHEMAS)) throw new FrameParseError(`unknown frame type ${JSON.stringify(type)}`);
  const parsed = FRAME_SCHEMAS[type as FrameType].safeParse(value);
  if (!parsed.success) throw new FrameParseError(`invalid ${type} frame: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data as Frame;
}
