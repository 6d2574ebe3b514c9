import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { readGgufFileInfo } from 'node-llama-cpp';
import { sharedModelPath } from '../shared-test-models.js';
import { BoundedFileReader, type PositionalReadable } from './bounded-file-reader.js';
import { GgufFormatError, UnsupportedGgufVersionError } from './gguf-errors.js';
import { readGgufHeader, type GgufHeader } from './read-gguf-header.js';

const STORIES = sharedModelPath('stories260K.gguf');
const TINY_RANDOM = sharedModelPath('llama-2-tiny-random.gguf');

describe('readGgufHeader', () => {
  it('reads stories260K: GGUF v3, 48 tensors, data aligned to 32 bytes', async () => {
    const header = await readGgufHeader(STORIES);
    assert.equal(header.version, 3);
    assert.equal(header.tensors.length, 48);
    assert.equal(header.alignment, 32);
    assert.equal(header.dataOffset % 32, 0);
    assert.equal(header.metadata['general.architecture'], 'llama');
    assert.equal(header.metadata['llama.block_count'], 5);
    assert.deepEqual(header.tensors[0], {
      name: 'token_embd.weight', shape: [64, 512], ggmlType: 0, typeName: 'F32', offset: 0, elements: 32768, bytes: 131072,
    });
  });

  it('finds the tensor data ending exactly at the end of the file', async () => {
    for (const path of [STORIES, TINY_RANDOM]) {
      const header = await readGgufHeader(path);
      const end = Math.max(...header.tensors.map((t) => t.offset + (t.bytes ?? 0)));
      assert.equal(header.dataOffset + end, (await stat(path)).size, path);
    }
  });

  it('agrees with node-llama-cpp on every tensor and every scalar metadata value', async () => {
    for (const path of [STORIES, TINY_RANDOM]) {
      const ours = await readGgufHeader(path);
      const theirs = await readGgufFileInfo(path, { logWarnings: false });
      assert.equal(ours.dataOffset, theirs.infoEndOffset);
      assert.deepEqual(
        ours.tensors.map((t) => [t.name, t.shape, t.ggmlType, t.offset]),
        (theirs.tensorInfo ?? []).map((t) => [t.name, t.dimensions.map(Number), t.ggmlType, Number(t.offset)]),
      );
      assertScalarsAgree(ours, theirs.metadata);
    }
  });

  it('keeps only the length of a long array such as the 32,000-token vocabulary', async () => {
    const tokens = (await readGgufHeader(TINY_RANDOM)).metadata['tokenizer.ggml.tokens'];
    assert.deepEqual(tokens, { kind: 'array', itemType: 8, length: 32000 });
  });

  it('materialises a long array when asked to', async () => {
    const header = await readGgufHeader(TINY_RANDOM, { maxArrayItems: 40000 });
    const tokens = header.metadata['tokenizer.ggml.tokens'];
    assert.ok(typeof tokens === 'object' && tokens.items !== undefined);
    assert.deepEqual(tokens.items.slice(0, 3), ['<unk>', '<s>', '</s>']);
  });

  it('gives the same header through a 64-byte window as through the default one', async () => {
    for (const path of [STORIES, TINY_RANDOM]) {
      assert.deepEqual(await readGgufHeader(path, { readChunkBytes: 64 }), await readGgufHeader(path));
    }
  });

  describe('on a broken file', () => {
    let dir = '';
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'infernet-gguf-'));
    });
    after(async () => rm(dir, { recursive: true, force: true }));

    it('refuses a file that is not GGUF with a GgufFormatError', async () => {
      const path = join(dir, 'not.gguf');
      await writeFile(path, 'this is a text file, not a model');
      await assert.rejects(readGgufHeader(path), (e: unknown) => e instanceof GgufFormatError && /GGUF magic/.test(e.message));
    });

    it('refuses a truncated header with a GgufFormatError naming where it ends', async () => {
      const path = join(dir, 'truncated.gguf');
      await writeFile(path, (await readFile(STORIES)).subarray(0, 5000));
      await assert.rejects(readGgufHeader(path), (e: unknown) => e instanceof GgufFormatError && /ends inside its header/.test(e.message));
    });

    it('refuses GGUF version 1 with an UnsupportedGgufVersionError', async () => {
      const path = join(dir, 'v1.gguf');
      const bytes = Buffer.alloc(24);
      bytes.write('GGUF', 0, 'latin1');
      bytes.writeUInt32LE(1, 4);
      await writeFile(path, bytes);
      await assert.rejects(readGgufHeader(path), UnsupportedGgufVersionError);
    });
  });
});

describe('BoundedFileReader', () => {
  it('skips far ahead without reading the skipped bytes', async () => {
    const file = Buffer.alloc(1_000_000);
    file.writeUInt32LE(7, 0);
    file.writeUInt32LE(9, 900_000);
    const source = countingSource(file);
    const reader = new BoundedFileReader(source, file.length, 4096);
    assert.ok(await reader.ensure(4));
    assert.equal(reader.u32(), 7);
    assert.ok(reader.skip(900_000 - 4));
    assert.ok(await reader.ensure(4));
    assert.equal(reader.u32(), 9);
    assert.ok(source.bytesRead() <= 2 * 4096, `read ${source.bytesRead()} bytes`);
  });

  it('reports the end of the file instead of reading past it', async () => {
    const reader = new BoundedFileReader(countingSource(Buffer.alloc(10)), 10, 4);
    assert.ok(await reader.ensure(10));
    assert.equal(await reader.ensure(11), false);
    assert.equal(reader.skip(11), false);
  });
});

function countingSource(file: Buffer): PositionalReadable & { bytesRead(): number } {
  let total = 0;
  return {
    async read(buffer, offset, length, position) {
      const bytesRead = file.copy(buffer, offset, position, Math.min(file.length, position + length));
      total += bytesRead;
      return { bytesRead };
    },
    bytesRead: () => total,
  };
}

// node-llama-cpp nests keys ("llama.block_count" as llama.block_count) and reads every array in full.
function assertScalarsAgree(ours: GgufHeader, theirs: object): void {
  let compared = 0;
  for (const [key, value] of Object.entries(ours.metadata)) {
    if (typeof value === 'object') continue;
    const other = key.split('.').reduce<unknown>((node, part) => (node as Record<string, unknown> | undefined)?.[part], theirs);
    const comparable = (v: unknown): unknown => (typeof v === 'string' ? v : Number(v));
    assert.equal(comparable(value), comparable(other), key);
    compared++;
  }
  assert.ok(compared > 5, `compared only ${compared} values`);
}
