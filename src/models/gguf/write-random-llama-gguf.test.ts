import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtemp, open, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { getLlama, LlamaLogLevel, type Llama, type Token } from 'node-llama-cpp';
import { describeModel } from '../describe-model.js';
import { InvalidModelShapeError } from './gguf-errors.js';
import { readGgufHeader } from './read-gguf-header.js';
import { deriveSeed, seededRandom } from '../../random/index.js';
import { writeRandomLlamaGguf, type RandomLlamaShape, type RandomTensorType } from './write-random-llama-gguf.js';

const TINY: RandomLlamaShape = {
  name: 'tiny-test',
  layers: 2,
  hiddenSize: 64,
  heads: 4,
  kvHeads: 2,
  feedForwardLength: 128,
  vocabularySize: 512,
  contextLength: 256,
};

describe('writeRandomLlamaGguf', () => {
  let dir = '';
  let llama: Llama | undefined;
  const written = new Map<RandomTensorType, string>();
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infernet-write-gguf-'));
    for (const tensorType of ['F32', 'F16', 'Q8_0'] as const) {
      const path = join(dir, `tiny-${tensorType}.gguf`);
      await writeRandomLlamaGguf(path, TINY, { seed: 42, tensorType });
      written.set(tensorType, path);
    }
  });
  after(async () => {
    await llama?.dispose();
    await rm(dir, { recursive: true, force: true });
  });
  const pathOf = (type: RandomTensorType): string => written.get(type) ?? assert.fail(`no ${type} model written`);

  for (const [tensorType, fileType] of [['F32', 'F32'], ['F16', 'F16'], ['Q8_0', 'Q8_0']] as const) {
    it(`reads back the shape it wrote in ${tensorType}`, async () => {
      const path = pathOf(tensorType);
      const model = describeModel(await readGgufHeader(path), (await stat(path)).size);
      assert.deepEqual(
        { ...model, parameterCount: undefined, fileSizeBytes: undefined },
        {
          name: 'tiny-test', architecture: 'llama', layers: 2, hiddenSize: 64, heads: 4, kvHeads: 2, headDim: 16,
          feedForwardLength: 128, vocabularySize: 512, contextLength: 256,
          quantization: { fileType, dominantTensorType: tensorType }, parameterCount: undefined, fileSizeBytes: undefined,
        },
      );
      // embeddings + output (2 x 512 x 64), per layer q, k, v, o, gate, up, down and two norms, the final norm
      assert.equal(model.parameterCount, 2 * 512 * 64 + 2 * (64 * 64 * 2 + 64 * 32 * 2 + 3 * 64 * 128 + 2 * 64) + 64);
    });
  }

  it('aligns every tensor to 32 bytes and ends the file with the last tensor', async () => {
    const path = pathOf('Q8_0');
    const header = await readGgufHeader(path);
    assert.equal(header.metadata['general.alignment'], 32);
    assert.equal(header.tensors.length, 3 + 9 * TINY.layers);
    assert.ok(header.tensors.every((t) => t.offset % 32 === 0));
    const last = header.tensors.at(-1);
    assert.equal(header.dataOffset + (last?.offset ?? 0) + (last?.bytes ?? 0), (await stat(path)).size);
  });

  it('quantizes to Q8_0 blocks that decode to the seeded weights within half a step', async () => {
    const path = pathOf('Q8_0');
    const header = await readGgufHeader(path);
    const handle = await open(path, 'r');
    const block = Buffer.alloc(34);
    await handle.read(block, 0, 34, header.dataOffset); // first block of token_embd.weight, amplitude 1
    await handle.close();
    const random = seededRandom(deriveSeed(42, 0));
    const scale = halfToFloat(block.readUInt16LE(0));
    for (let i = 0; i < 32; i++) {
      const expected = random() * 2 - 1;
      assert.ok(Math.abs(block.readInt8(2 + i) * scale - expected) <= scale / 2 + 1e-6, `value ${i}`);
    }
  });

  it('writes the same bytes for the same seed and different ones for another seed', async () => {
    const again = join(dir, 'again.gguf');
    const other = join(dir, 'other.gguf');
    await writeRandomLlamaGguf(again, TINY, { seed: 42, tensorType: 'Q8_0' });
    await writeRandomLlamaGguf(other, TINY, { seed: 43, tensorType: 'Q8_0' });
    assert.equal(await sha256(again), await sha256(pathOf('Q8_0')));
    assert.notEqual(await sha256(other), await sha256(pathOf('Q8_0')));
  });

  it('refuses a Q8_0 model whose feed-forward rows are not whole 32-value blocks', async () => {
    await assert.rejects(
      writeRandomLlamaGguf(join(dir, 'bad.gguf'), { ...TINY, feedForwardLength: 100 }, { seed: 1, tensorType: 'Q8_0' }),
      InvalidModelShapeError,
    );
  });

  for (const tensorType of ['F16', 'Q8_0'] as const) {
    it(`loads in llama.cpp (${tensorType}) and generates the same greedy tokens twice`, async () => {
      llama ??= await getLlama({ gpu: false, build: 'never', logLevel: LlamaLogLevel.error });
      const model = await llama.loadModel({ modelPath: pathOf(tensorType) });
      const context = await model.createContext({ contextSize: 128, threads: 1 });
      try {
        const sequence = context.getSequence();
        const bos = model.tokens.bos ?? assert.fail('the model has no BOS token');
        const prompt = [bos, ...model.tokenize('Once upon a time')];
        assert.ok(prompt.length > 3, 'the tokenizer splits the prompt into pieces');
        const generate = async (): Promise<Token[]> => {
          const out: Token[] = [];
          for await (const token of sequence.evaluate(prompt, { temperature: 0 })) {
            out.push(token);
            if (out.length === 8) break;
          }
          await sequence.clearHistory();
          return out;
        };
        const first = await generate();
        assert.equal(first.length, 8);
        assert.deepEqual(await generate(), first);
      } finally {
        await context.dispose();
        await model.dispose();
      }
    });
  }
});

async function sha256(path: string): Promise<string> {
  return createHash('sha256').update(await readFile(path)).digest('hex');
}

function halfToFloat(bits: number): number {
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  const sign = bits & 0x8000 ? -1 : 1;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}
