// Which JSON Schema the engine's grammar can enforce, and the schema in the dialect node-llama-cpp compiles to a
// GBNF grammar. Pure, so the client node checks a request's schema before its job leaves (a 400 naming the
// keyword) and the provider compiles the same schema the same way.
import { InfernetError } from '../errors/index.js';

/** Keywords the grammar enforces token by token. */
const ENFORCED = new Set([
  'type', 'properties', 'required', 'additionalProperties', 'minProperties', 'maxProperties',
  'items', 'prefixItems', 'minItems', 'maxItems', 'minLength', 'maxLength', 'format',
  'enum', 'const', 'oneOf', 'anyOf', '$defs', 'definitions', '$ref',
]);
/** Keywords that describe and do not constrain: dropped before compiling. */
const ANNOTATIONS = new Set(['title', 'description', 'default', 'examples', '$schema', '$id', '$comment', 'readOnly', 'writeOnly', 'deprecated', 'strict']);
const FORMATS = new Set(['date-time', 'time', 'date']);
const SCALAR_TYPES = new Set(['string', 'number', 'integer', 'boolean', 'null']);
const TYPES = new Set([...SCALAR_TYPES, 'object', 'array']);

export interface JsonSchemaIssue {
  /** JSON pointer-like path of the offending keyword inside the schema: properties.age.minimum. */
  path: string;
  message: string;
}

export class UnsupportedJsonSchemaError extends InfernetError {
  override readonly name = 'UnsupportedJsonSchemaError';
  constructor(readonly issue: JsonSchemaIssue) {
    super('invalid_frame', `${issue.path ? `${issue.path}: ` : ''}${issue.message}`);
  }
}

/**
 * The schema as node-llama-cpp's GbnfJsonSchema: anyOf becomes oneOf (the grammar cannot tell them apart for one
 * generated value), definitions become $defs, annotations go. A keyword the grammar cannot enforce throws when
 * `strict` (OpenAI's promise that the output matches the schema), and is dropped otherwise (best effort, as OpenAI
 * treats non-strict schemas).
 */
export function grammarSchemaOf(schema: unknown, options: { strict: boolean }): Record<string, unknown> {
  return convert(schema, '', options.strict) as Record<string, unknown>;
}

function convert(node: unknown, path: string, strict: boolean): unknown {
  const at = (key: string | number) => (path ? `${path}.${key}` : String(key));
  if (typeof node !== 'object' || node === null || Array.isArray(node)) throw new UnsupportedJsonSchemaError({ path, message: 'a schema must be an object' });
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(node)) {
    if (ANNOTATIONS.has(key)) continue;
    if (!ENFORCED.has(key)) {
      if (strict) throw new UnsupportedJsonSchemaError({ path: at(key), message: `the keyword "${key}" cannot be enforced by the decoding grammar (use strict: false to have it ignored)` });
      continue;
    }
    switch (key) {
      case 'type': {
        const types = Array.isArray(value) ? value : [value];
        if (!types.length || types.some((type) => !TYPES.has(type as string))) throw new UnsupportedJsonSchemaError({ path: at(key), message: `unknown type ${JSON.stringify(value)}` });
        // The grammar takes a list of scalar types, or one type of any kind; a mixed list becomes a oneOf.
        if (types.length > 1 && types.some((type) => !SCALAR_TYPES.has(type as string))) {
          const { type: _type, ...rest } = node as Record<string, unknown>;
          return { oneOf: types.map((type) => convert({ ...rest, type }, path, strict)) };
        }
        out.type = types.length === 1 ? types[0] : types;
        break;
      }
      case 'properties':
      case '$defs':
      case 'definitions':
        out[key === 'definitions' ? '$defs' : key] = Object.fromEntries(Object.entries(objectAt(value, at(key))).map(([name, sub]) => [name, convert(sub, `${at(key)}.${name}`, strict)]));
        break;
      case 'items':
      case 'additionalProperties':
        out[key] = typeof value === 'boolean' ? value : convert(value, at(key), strict);
        break;
      case 'prefixItems':
      case 'oneOf':
      case 'anyOf':
        out[key === 'anyOf' ? 'oneOf' : key] = arrayAt(value, at(key)).map((sub, index) => convert(sub, `${at(key)}[${index}]`, strict));
        break;
      case 'format':
        if (FORMATS.has(value as string)) out.format = value;
        else if (strict) throw new UnsupportedJsonSchemaError({ path: at(key), message: `the string format "${String(value)}" cannot be enforced (date-time, date and time can)` });
        break;
      case '$ref':
        if (typeof value !== 'string' || !/^#\/(\$defs|definitions)\/[^/]+$/.test(value)) throw new UnsupportedJsonSchemaError({ path: at(key), message: 'only local references #/$defs/NAME are supported' });
        out.$ref = value.replace('#/definitions/', '#/$defs/');
        break;
      default:
        out[key] = value;
    }
  }
  if (!('type' in out || 'enum' in out || 'const' in out || 'oneOf' in out || '$ref' in out)) {
    throw new UnsupportedJsonSchemaError({ path, message: 'a schema needs a type, enum, const, anyOf/oneOf or $ref: the grammar cannot generate "any value"' });
  }
  return out;
}

function objectAt(value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new UnsupportedJsonSchemaError({ path, message: 'must be an object' });
  return value as Record<string, unknown>;
}

function arrayAt(value: unknown, path: string): unknown[] {
  if (!Array.isArray(value) || value.length === 0) throw new UnsupportedJsonSchemaError({ path, message: 'must be a non-empty array' });
  return value;
}
