// llama.cpp's RPC tensor cache, written by us from a GGUF on disk: a worker started with `ggml-rpc-server -c`
// answers a head's RPC_CMD_SET_TENSOR_HASH from <LLAMA_CACHE>/rpc/<hash>, so a stage whose provider already holds
// the model can have every large tensor in place before the head loads, and no weights cross the network.
// The names must match ggml-rpc.cpp exactly: FNV-1a 64 over the tensor's bytes as the head sends them (the whole
// tensor at once when the head mmaps the model, llama.cpp's default), printed as 16 lower-case hex digits; only
// tensors of more than HASH_THRESHOLD bytes are ever looked up. Entries are content-addressed, so a file that is
// not the head's model only writes entries nobody asks for: it can never change what a head loads.
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat, writeFile, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { readGgufHeader, type GgufTensorInfo } from '../models/index.js';

/** ggml-rpc.cpp's HASH_THRESHOLD: tensors of more bytes than this are offered by hash first. */
export const RPC_HASH_THRESHOLD_BYTES = 10 * 1024 * 1024;
/** ggml-rpc-server -c keeps its entries in this folder under LLAMA_CACHE. */
export const RPC_CACHE_SUBDIR = 'rpc';

const FNV_OFFSET_HI = 0xcbf29ce4;
const FNV_OFFSET_LO = 0x84222325;
/** The FNV prime 0x100000001b3 is 2^40 + 435: a product is hash * 435 plus the low word shifted up by 40 bits. */
const FNV_PRIME_LOW = 435;
const READ_CHUNK_BYTES = 4 * 2 ** 20;

/** A running FNV-1a 64 hash in two 32-bit words (BigInt per byte would be a hundred times slower). */
export interface Fnv1a64 {
  hi: number;
  lo: number;
}

export function fnv1a64Start(): Fnv1a64 {
  return { hi: FNV_OFFSET_HI, lo: FNV_OFFSET_LO };
}

export function fnv1a64Update(state: Fnv1a64, bytes: Uint8Array): Fnv1a64 {
  let hi = state.hi | 0;
  let lo = state.lo | 0;
  // Int32 arithmetic only (the low word times 435 in two 16-bit halves), which V8 keeps in registers: ~350 MiB/s.
  for (let i = 0; i < bytes.length; i++) {
    lo ^= bytes[i]!;
    const low = (lo & 0xffff) * FNV_PRIME_LOW;
    const high = (lo >>> 16) * FNV_PRIME_LOW + (low >>> 16);
    hi = (Math.imul(hi, FNV_PRIME_LOW) + (high >>> 16) + (lo << 8)) | 0;
    lo = (high << 16) | (low & 0xffff);
  }
  state.hi = hi >>> 0;
  state.lo = lo >>> 0;
  return state;
}

/** The hash as ggml-rpc.cpp names its cache file: `%016" PRIx64`. */
export function fnv1a64Hex(state: Fnv1a64): string {
  return state.hi.toString(16).padStart(8, '0') + state.lo.toString(16).padStart(8, '0');
}

export function fnv1a64(bytes: Uint8Array): string {
  return fnv1a64Hex(fnv1a64Update(fnv1a64Start(), bytes));
}

/** A tensor a head will offer by hash: where its bytes are in the GGUF file. */
export interface CachedTensorSource {
  name: string;
  /** Absolute offset in the file. */
  offset: number;
  bytes: number;
}

/** The tensors of a GGUF whose upload llama.cpp tries by hash first: those over the threshold. Pure. */
export function hashedTensorsOf(tensors: readonly GgufTensorInfo[], dataOffset: number): CachedTensorSource[] {
  return tensors.filter((tensor) => tensor.bytes !== undefined && tensor.bytes > RPC_HASH_THRESHOLD_BYTES).map((tensor) => ({ name: tensor.name, offset: dataOffset + tensor.offset, bytes: tensor.bytes! }));
}

/** One file of the RPC cache: its name (the hash) and its size. */
export interface RpcCacheEntry {
  tensor: string;
  file: string;
  bytes: number;
}

/** The cache entries a GGUF gives, hashing each large tensor's bytes from disk a chunk at a time. */
export async function rpcCacheEntriesOf(modelPath: string): Promise<RpcCacheEntry[]> {
  const header = await readGgufHeader(modelPath);
  const sources = hashedTensorsOf(header.tensors, header.dataOffset);
  const handle = await open(modelPath, 'r');
  try {
    const entries: RpcCacheEntry[] = [];
    const buffer = Buffer.allocUnsafe(READ_CHUNK_BYTES);
    for (const source of sources) {
      const hash = fnv1a64Start();
      await forEachChunk(handle, source, buffer, (chunk) => void fnv1a64Update(hash, chunk));
      entries.push({ tensor: source.name, file: fnv1a64Hex(hash), bytes: source.bytes });
    }
    return entries;
  } finally {
    await handle.close();
  }
}

export interface PrefillTensorCacheParameters {
  modelPath: string;
  /** The worker's LLAMA_CACHE: entries go to its `rpc` folder. */
  cacheDir: string;
  /** Names the entry list kept per model, so a later stage for it skips the hashing: a content id. */
  modelKey: string;
}

export interface PrefillTensorCacheReturnType {
  /** Entries the model gives. */
  tensors: number;
  /** Entries written now (the rest were there already). */
  written: number;
  /** Bytes of all the model's entries: what the head no longer uploads. */
  bytes: number;
}

/**
 * Writes the cache entries of a model's large tensors, each through a temporary file and a rename so a worker
 * never reads half an entry. Idempotent: an entry already there with its size is kept, and the list of entries
 * is remembered per model key, so the next stage for the same model only checks that the files are there.
 */
export async function prefillTensorCache(params: PrefillTensorCacheParameters): Promise<PrefillTensorCacheReturnType> {
  const dir = join(params.cacheDir, RPC_CACHE_SUBDIR);
  await mkdir(dir, { recursive: true });
  const indexFile = join(params.cacheDir, 'infernet-prefill', `${params.modelKey.replace(/[^A-Za-z0-9_-]/g, '_')}.json`);
  const info = await stat(params.modelPath);
  const known = await readEntryIndex(indexFile, info.size, info.mtimeMs);
  const header = await readGgufHeader(params.modelPath);
  const sources = hashedTensorsOf(header.tensors, header.dataOffset);
  const entries: RpcCacheEntry[] = [];
  let written = 0;
  let bytes = 0;
  const handle = await open(params.modelPath, 'r');
  try {
    const buffer = Buffer.allocUnsafe(READ_CHUNK_BYTES);
    for (const source of sources) {
      const entry = known?.find((e) => e.tensor === source.name && e.bytes === source.bytes);
      bytes += source.bytes;
      // A known entry whose file is there is done; otherwise one pass over the tensor both hashes and copies it.
      if (entry && (await stat(join(dir, entry.file)).catch(() => undefined))?.size === entry.bytes) {
        entries.push(entry);
        continue;
      }
      const copied = await copyTensor(handle, source, buffer, dir);
      entries.push(copied.entry);
      if (copied.written) written++;
    }
  } finally {
    await handle.close();
  }
  await mkdir(join(params.cacheDir, 'infernet-prefill'), { recursive: true });
  await writeFile(indexFile, JSON.stringify({ size: info.size, mtimeMs: info.mtimeMs, entries }));
  return { tensors: entries.length, written, bytes };
}

/** Copies a tensor into `dir` under the hash of its bytes, computed on the way; keeps an entry already there. */
async function copyTensor(handle: FileHandle, source: CachedTensorSource, buffer: Buffer, dir: string): Promise<{ entry: RpcCacheEntry; written: boolean }> {
  const temporary = join(dir, `.${randomBytes(8).toString('hex')}.partial`);
  const out = await open(temporary, 'w');
  try {
    const hash = fnv1a64Start();
    await forEachChunk(handle, source, buffer, async (chunk) => {
      fnv1a64Update(hash, chunk);
      await out.write(chunk);
    });
    await out.close();
    const entry = { tensor: source.name, file: fnv1a64Hex(hash), bytes: source.bytes };
    const target = join(dir, entry.file);
    if ((await stat(target).catch(() => undefined))?.size === entry.bytes) {
      await rm(temporary, { force: true });
      return { entry, written: false };
    }
    await rename(temporary, target);
    return { entry, written: true };
  } catch (error) {
    await out.close().catch(() => undefined);
    await rm(temporary, { force: true });
    throw error;
  }
}

async function forEachChunk(handle: FileHandle, source: CachedTensorSource, buffer: Buffer, visit: (chunk: Buffer) => void | Promise<void>): Promise<void> {
  for (let done = 0; done < source.bytes; ) {
    const { bytesRead } = await handle.read(buffer, 0, Math.min(buffer.length, source.bytes - done), source.offset + done);
    if (bytesRead === 0) throw new Error(`the model file ends inside tensor ${source.name}`);
    await visit(buffer.subarray(0, bytesRead));
    done += bytesRead;
  }
}

async function readEntryIndex(file: string, size: number, mtimeMs: number): Promise<RpcCacheEntry[] | undefined> {
  try {
    const index = JSON.parse(await readFile(file, 'utf8')) as { size?: unknown; mtimeMs?: unknown; entries?: unknown };
    if (index.size !== size || index.mtimeMs !== mtimeMs || !Array.isArray(index.entries)) return undefined;
    const valid = index.entries.every((e: unknown) => typeof e === 'object' && e !== null && typeof (e as RpcCacheEntry).tensor === 'string' && /^[0-9a-f]{16}$/.test((e as RpcCacheEntry).file) && Number.isSafeInteger((e as RpcCacheEntry).bytes));
    return valid ? (index.entries as RpcCacheEntry[]) : undefined;
  } catch {
    return undefined;
  }
}
