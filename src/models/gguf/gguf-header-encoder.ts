// Serialises GGUF metadata and tensor infos. The header of even a large model is small (its tokenizer
// dominates), so it is built in memory; tensor data is streamed separately by the caller.
import { GGUF_MAGIC, GgufValueType } from './gguf-constants.js';

export interface EncodedTensorInfo {
  readonly name: string;
  /** ggml order, fastest-varying dimension first. */
  readonly shape: readonly number[];
  readonly ggmlType: number;
  /** From the start of the data section; a multiple of the alignment. */
  readonly offset: number;
}

export class GgufHeaderEncoder {
  private readonly parts: Buffer[] = [];
  private entries = 0;

  u32(key: string, value: number): this {
    return this.entry(key, GgufValueType.UINT32, u32Bytes(value));
  }
  f32(key: string, value: number): this {
    return this.entry(key, GgufValueType.FLOAT32, f32Bytes(value));
  }
  bool(key: string, value: boolean): this {
    return this.entry(key, GgufValueType.BOOL, Buffer.from([value ? 1 : 0]));
  }
  string(key: string, value: string): this {
    return this.entry(key, GgufValueType.STRING, stringBytes(value));
  }
  stringArray(key: string, values: readonly string[]): this {
    return this.entry(key, GgufValueType.ARRAY, arrayBytes(GgufValueType.STRING, values.map(stringBytes)));
  }
  f32Array(key: string, values: readonly number[]): this {
    return this.entry(key, GgufValueType.ARRAY, arrayBytes(GgufValueType.FLOAT32, values.map(f32Bytes)));
  }
  i32Array(key: string, values: readonly number[]): this {
    return this.entry(key, GgufValueType.ARRAY, arrayBytes(GgufValueType.INT32, values.map(i32Bytes)));
  }

  /** The whole header (version 3) with the given tensor table, padded to `alignment`. */
  encode(tensors: readonly EncodedTensorInfo[], alignment: number): Buffer {
    const preamble = Buffer.concat([u32Bytes(GGUF_MAGIC), u32Bytes(3), u64Bytes(tensors.length), u64Bytes(this.entries)]);
    const header = Buffer.concat([preamble, ...this.parts, ...tensors.map(tensorInfoBytes)]);
    const padded = Math.ceil(header.length / alignment) * alignment;
    return Buffer.concat([header, Buffer.alloc(padded - header.length)]);
  }

  private entry(key: string, type: number, value: Buffer): this {
    this.parts.push(stringBytes(key), u32Bytes(type), value);
    this.entries++;
    return this;
  }
}

function tensorInfoBytes(t: EncodedTensorInfo): Buffer {
  return Buffer.concat([
    stringBytes(t.name),
    u32Bytes(t.shape.length),
    ...t.shape.map(u64Bytes),
    u32Bytes(t.ggmlType),
    u64Bytes(t.offset),
  ]);
}

function arrayBytes(itemType: number, items: readonly Buffer[]): Buffer {
  return Buffer.concat([u32Bytes(itemType), u64Bytes(items.length), ...items]);
}

function stringBytes(value: string): Buffer {
  const utf8 = Buffer.from(value, 'utf8');
  return Buffer.concat([u64Bytes(utf8.length), utf8]);
}

function u32Bytes(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(value);
  return b;
}

function i32Bytes(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeInt32LE(value);
  return b;
}

function f32Bytes(value: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeFloatLE(value);
  return b;
}

function u64Bytes(value: number): Buffer {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(value));
  return b;
}
