// The single entry point for bytes arriving from a peer: size, JSON, version, type, then schema, each failure
// named with the error code the peer gets back.
import type { ErrorCode } from './error-codes.js';
import { FRAME_SCHEMAS, type Frame, type FrameType } from './schemas.js';
import { SUPPORTED_PROTOCOL_VERSIONS } from './version.js';
import { InfernetError } from '../errors/index.js';

export class FrameRejectedError extends InfernetError {
  override readonly name = 'FrameRejectedError';
  constructor(code: ErrorCode, message: string) {
    super(code, message);
  }
}

export interface ParseFrameOptions {
  maxBytes: number;
  /** The negotiated version once the session has one; before that any supported version is accepted. */
  sessionVersion?: number;
}

export function parseFrame(raw: string | Buffer, options: ParseFrameOptions): Frame {
  const size = typeof raw === 'string' ? Buffer.byteLength(raw) : raw.length;
  if (size > options.maxBytes) {
    throw new FrameRejectedError('frame_too_large', `frame of ${size} bytes exceeds the limit of ${options.maxBytes}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(typeof raw === 'string' ? raw : raw.toString('utf8'));
  } catch (error) {
    throw new FrameRejectedError('malformed_json', `frame is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new FrameRejectedError('invalid_frame', 'frame must be a JSON object with "v" and "type"');
  }
  const { v, type } = value as { v?: unknown; type?: unknown };
  checkVersion(v, options.sessionVersion);
  if (typeof type !== 'string' || !(type in FRAME_SCHEMAS)) {
    throw new FrameRejectedError('unknown_type', `unknown frame type ${JSON.stringify(type)}`);
  }
  const result = FRAME_SCHEMAS[type as FrameType].safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : '(frame)';
    throw new FrameRejectedError('invalid_frame', `invalid ${type} frame: ${where}: ${issue?.message ?? 'invalid'}`);
  }
  return result.data as Frame;
}

function checkVersion(v: unknown, sessionVersion: number | undefined): void {
  if (typeof v !== 'number') throw new FrameRejectedError('invalid_frame', 'frame must carry a numeric "v" (protocol version)');
  const accepted: readonly number[] = sessionVersion === undefined ? SUPPORTED_PROTOCOL_VERSIONS : [sessionVersion];
  if (!accepted.includes(v)) {
    throw new FrameRejectedError('unsupported_version', `protocol version ${v} is not spoken here (speaks ${accepted.join(', ')})`);
  }
}
