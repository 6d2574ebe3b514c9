// Reads a GGUF file's metadata and tensor table, and nothing of the tensor data, through bounded reads.
// Huge arrays (tokenizer vocabularies, merges) are skipped and only their length is kept unless asked for.
import { open } from 'node:fs/promises';
import { BoundedFileReader } from './bounded-file-reader.js';
import {
  GGML_TYPES,
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  GGUF_SUPPORTED_VERSIONS,
  GGUF_VALUE_TYPE_SIZE,
  GgufValueType,
  ggmlTensorBytes,
} from './gguf-constants.js';
import { GgufFormatError, UnsupportedGgufVersionError } from './gguf-errors.js';

export type GgufScalar = number | bigint | boolean | string;

/** An array value; `items` is absent when the array was longer than `maxArrayItems` and skipped. */
export interface GgufArray {
  readonly kind: 'array';
  readonly itemType: number;
  readonly length: number;
  readonly items?: readonly GgufValue[];
}

export type GgufValue = GgufScalar | GgufArray;

export interface GgufTensorInfo {
  readonly name: string;
  /** ggml order: shape[0] is the fastest-varying (row) dimension. */
  readonly shape: readonly number[];
  readonly ggmlType: number;
  /** 'Q8_0', 'F16', ...; undefined for a type id this code does not know. */
  readonly typeName: string | undefined;
  /** Offset of the data from the start of the data section. */
  readonly offset: number;
  readonly elements: number;
  /** Bytes on disk, undefined for an unknown type. */
  readonly bytes: number | undefined;
}

export interface GgufHeader {
  readonly version: number;
  readonly metadata: Readonly<Record<string, GgufValue>>;
  readonly tensors: readonly GgufTensorInfo[];
  readonly alignment: number;
  /** Absolute file offset where tensor data starts. */
  readonly dataOffset: number;
}

export interface ReadGgufHeaderParameters {
  /** Arrays with more items than this keep only their length (default 256). */
  readonly maxArrayItems?: number;
  /** Size of the read window (default 1 MiB); memory use stays near it whatever the file size. */
  readonly readChunkBytes?: number;
}

export type ReadGgufHeaderReturnType = GgufHeader;

// Limits far above any real model; beyond them the file is corrupt and reading on would exhaust memory.
const MAX_STRING_BYTES = 16 * 1024 * 1024;
const MAX_METADATA_ENTRIES = 1_000_000;
const MAX_TENSORS = 10_000_000;
const MAX_TENSOR_DIMS = 4;
const MAX_ARRAY_DEPTH = 4;

export async function readGgufHeader(
  path: string,
  parameters: ReadGgufHeaderParameters = {},
): Promise<ReadGgufHeaderReturnType> {
  const handle = await open(path, 'r');
  try {
    const { size } = await handle.stat();
    const reader = new BoundedFileReader(handle, size, parameters.readChunkBytes);
    const parser = new GgufHeaderParser(reader, path, parameters.maxArrayItems ?? 256);
    return await parser.parse();
  } finally {
    await handle.close();
  }
}

class GgufHeaderParser {
  constructor(
    private readonly reader: BoundedFileReader,
    private readonly path: string,
    private readonly maxArrayItems: number,
  ) {}

  async parse(): Promise<GgufHeader> {
    const { version, tensorCount, metadataCount } = await this.readPreamble();
    const entries: [string, GgufValue][] = [];
    for (let i = 0; i < metadataCount; i++) {
      const key = await this.readString();
      const type = await this.readU32();
      entries.push([key, await this.readValue(type, 0)]);
    }
    const metadata = Object.fromEntries(entries);
    const tensors: GgufTensorInfo[] = [];
    for (let i = 0; i < tensorCount; i++) tensors.push(await this.readTensorInfo());
    const alignment = alignmentOf(metadata, this.path);
    const dataOffset = Math.ceil(this.reader.position / alignment) * alignment;
    return { version, metadata, tensors, alignment, dataOffset };
  }

  private async readPreamble(): Promise<{ version: number; tensorCount: number; metadataCount: number }> {
    if ((await this.readU32()) !== GGUF_MAGIC) throw this.corrupt('it does not start with the GGUF magic bytes');
    const version = await this.readU32();
    if (!GGUF_SUPPORTED_VERSIONS.includes(version)) throw new UnsupportedGgufVersionError(this.path, version);
    const tensorCount = await this.readCount(MAX_TENSORS, 'tensor count');
    const metadataCount = await this.readCount(MAX_METADATA_ENTRIES, 'metadata entry count');
    return { version, tensorCount, metadataCount };
  }

  private async readTensorInfo(): Promise<GgufTensorInfo> {
    const name = await this.readString();
    const dims = await this.readU32();
    if (dims > MAX_TENSOR_DIMS) throw this.corrupt(`tensor ${name} has ${dims} dimensions (ggml allows ${MAX_TENSOR_DIMS})`);
    const shape: number[] = [];
    for (let d = 0; d < dims; d++) shape.push(await this.readCount(Number.MAX_SAFE_INTEGER, `dimension of ${name}`));
    const ggmlType = await this.readU32();
    const offset = await this.readCount(Number.MAX_SAFE_INTEGER, `offset of ${name}`);
    const elements = shape.reduce((product, n) => product * n, 1);
    const typeName = GGML_TYPES[ggmlType]?.name;
    return { name, shape, ggmlType, typeName, offset, elements, bytes: ggmlTensorBytes(ggmlType, elements) };
  }

  private async readValue(type: number, depth: number): Promise<GgufValue> {
    if (type === GgufValueType.STRING) return this.readString();
    if (type === GgufValueType.ARRAY) return this.readArray(depth);
    const size = GGUF_VALUE_TYPE_SIZE[type];
    if (size === undefined) throw this.corrupt(`unknown metadata value type ${type} at byte ${this.reader.position}`);
    await this.need(size);
    return this.readScalarNow(type);
  }

  private readScalarNow(type: number): GgufScalar {
    const r = this.reader;
    switch (type) {
      case GgufValueType.UINT8: return r.u8();
      case GgufValueType.INT8: return r.i8();
      case GgufValueType.UINT16: return r.u16();
      case GgufValueType.INT16: return r.i16();
      case GgufValueType.UINT32: return r.u32();
      case GgufValueType.INT32: return r.i32();
      case GgufValueType.FLOAT32: return r.f32();
      case GgufValueType.BOOL: return r.u8() !== 0;
      case GgufValueType.UINT64: return narrow(r.u64());
      case GgufValueType.INT64: return narrow(r.i64());
      default: return r.f64();
    }
  }

  private async readArray(depth: number): Promise<GgufArray> {
    if (depth >= MAX_ARRAY_DEPTH) throw this.corrupt(`arrays nested deeper than ${MAX_ARRAY_DEPTH}`);
    const itemType = await this.readU32();
    const length = await this.readCount(Number.MAX_SAFE_INTEGER, 'array length');
    if (length > this.maxArrayItems) {
      await this.skipArrayItems(itemType, length, depth);
      return { kind: 'array', itemType, length };
    }
    const items: GgufValue[] = [];
    for (let i = 0; i < length; i++) items.push(await this.readValue(itemType, depth + 1));
    return { kind: 'array', itemType, length, items };
  }

  // Fixed-size items are jumped over at once; strings one length prefix at a time, never decoded.
  private async skipArrayItems(itemType: number, length: number, depth: number): Promise<void> {
    const size = GGUF_VALUE_TYPE_SIZE[itemType];
    if (size !== undefined) return this.skipBytes(size * length);
    for (let i = 0; i < length; i++) {
      if (itemType === GgufValueType.STRING) await this.skipBytes(await this.readCount(MAX_STRING_BYTES, 'string length'));
      else if (itemType === GgufValueType.ARRAY) await this.readArrayLengthAndSkip(depth + 1);
      else throw this.corrupt(`unknown array item type ${itemType}`);
    }
  }

  private async readArrayLengthAndSkip(depth: number): Promise<void> {
    const itemType = await this.readU32();
    const length = await this.readCount(Number.MAX_SAFE_INTEGER, 'array length');
    await this.skipArrayItems(itemType, length, depth);
  }

  private async readString(): Promise<string> {
    const length = await this.readCount(MAX_STRING_BYTES, 'string length');
    await this.need(length);
    return this.reader.utf8(length);
  }

  private async readU32(): Promise<number> {
    await this.need(4);
    return this.reader.u32();
  }

  private async readCount(max: number, what: string): Promise<number> {
    await this.need(8);
    const value = this.reader.u64();
    if (value > BigInt(max)) throw this.corrupt(`${what} ${value} at byte ${this.reader.position - 8} exceeds ${max}`);
    return Number(value);
  }

  private async need(bytes: number): Promise<void> {
    if (!(await this.reader.ensure(bytes))) throw this.truncated();
  }

  private async skipBytes(bytes: number): Promise<void> {
    if (!this.reader.skip(bytes)) throw this.truncated();
  }

  private truncated(): GgufFormatError {
    return this.corrupt(`it ends inside its header (at byte ${this.reader.position})`);
  }

  private corrupt(reason: string): GgufFormatError {
    return new GgufFormatError(this.path, reason);
  }
}

/** 64-bit values become plain numbers whenever that loses nothing. */
function narrow(value: bigint): number | bigint {
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}

function alignmentOf(metadata: Record<string, GgufValue>, path: string): number {
  const value = metadata['general.alignment'];
  if (value === undefined) return GGUF_DEFAULT_ALIGNMENT;
  if (typeof value !== 'number' || value <= 0 || value % 8 !== 0) {
    throw new GgufFormatError(path, `general.alignment ${String(value)} is not a positive multiple of 8`);
  }
  return value;
}
