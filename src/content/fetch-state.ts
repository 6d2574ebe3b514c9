// What a fetch has verified so far, kept beside the partial file (<out>.part.json) so an interrupted fetch
// resumes without downloading those chunks again. A chunk is marked only after its bytes were written, and the
// record is written only after the data file was synced: the record never claims more than the disk holds. The
// record is a hint, not a proof: a resumed fetch hashes each marked chunk again before it keeps it.
import { randomBytes } from 'node:crypto';
import { readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';

const FetchStateFile = z.object({ v: z.literal(1), cid: z.string(), size: z.number().int().nonnegative(), verified: z.string() });

/** One bit per leaf, in DAG order; grows as leaves are met, so its size is leaves / 8 bytes. */
export class VerifiedLeaves {
  private bits: Uint8Array;
  private marked = 0;

  constructor(bits: Uint8Array = new Uint8Array(64)) {
    this.bits = bits;
    for (const byte of bits) for (let bit = byte; bit; bit &= bit - 1) this.marked++;
  }

  get count(): number {
    return this.marked;
  }

  has(index: number): boolean {
    return ((this.bits[index >> 3] ?? 0) & (1 << (index & 7))) !== 0;
  }

  mark(index: number): void {
    if (this.has(index)) return;
    const byte = index >> 3;
    if (byte >= this.bits.length) {
      const grown = new Uint8Array(Math.max(byte + 1, this.bits.length * 2));
      grown.set(this.bits);
      this.bits = grown;
    }
    this.bits[byte]! |= 1 << (index & 7);
    this.marked++;
  }

  unmark(index: number): void {
    if (!this.has(index)) return;
    this.bits[index >> 3]! &= ~(1 << (index & 7));
    this.marked--;
  }

  snapshot(): Uint8Array {
    return this.bits.slice();
  }
}

export function fetchStatePathOf(partPath: string): string {
  return `${partPath}.json`;
}

/** The verified leaves of an earlier attempt at this very content, or none. */
export async function loadFetchState(partPath: string, cid: string): Promise<{ size: number; verified: VerifiedLeaves } | undefined> {
  try {
    const state = FetchStateFile.parse(JSON.parse(await readFile(fetchStatePathOf(partPath), 'utf8')));
    if (state.cid !== cid) return undefined;
    return { size: state.size, verified: new VerifiedLeaves(new Uint8Array(Buffer.from(state.verified, 'base64'))) };
  } catch {
    return undefined;
  }
}

export async function saveFetchState(partPath: string, cid: string, size: number, bits: Uint8Array): Promise<void> {
  const target = fetchStatePathOf(partPath);
  const temporary = `${target}.${randomBytes(4).toString('hex')}.tmp`;
  await writeFile(temporary, JSON.stringify({ v: 1, cid, size, verified: Buffer.from(bits).toString('base64') }));
  await rename(temporary, target);
}

/** Removes the record, and any half-written one a killed process left behind. */
export async function removeFetchState(partPath: string): Promise<void> {
  const target = fetchStatePathOf(partPath);
  await rm(target, { force: true });
  const leftovers = (await readdir(dirname(target)).catch(() => [] as string[])).filter((name) => name.startsWith(`${basename(target)}.`) && name.endsWith('.tmp'));
  for (const name of leftovers) await rm(join(dirname(target), name), { force: true });
}
