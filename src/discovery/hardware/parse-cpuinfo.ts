// Reads /proc/cpuinfo: the CPU model and how many physical cores and hardware threads the machine has.
import type { CpuInfo } from './hardware-profile.js';

/** Keys that name the model: x86 writes "model name"; some ARM kernels only "Hardware" or "cpu model". */
const MODEL_KEYS = ['model name', 'hardware', 'cpu model', 'processor name'];

/** Undefined fields are for the caller to fill from os.cpus(); threads is 0 when no processor is listed. */
export function parseCpuinfo(text: string): Partial<CpuInfo> & { threads: number } {
  const allBlocks = text.split(/\n\s*\n/).map(fieldsOf);
  // Older ARM kernels put "Hardware" in a block of its own after the processors.
  const blocks = allBlocks.filter((fields) => fields.has('processor'));
  const model = MODEL_KEYS.map((key) => allBlocks.find((fields) => fields.get(key))?.get(key)).find(Boolean);
  const cores = coresOf(blocks);
  return { threads: blocks.length, ...(model ? { model } : {}), ...(cores ? { cores } : {}) };
}

function fieldsOf(block: string): Map<string, string> {
  const fields = new Map<string, string>();
  for (const line of block.split('\n')) {
    const separator = line.indexOf(':');
    if (separator > 0) fields.set(line.slice(0, separator).trim().toLowerCase(), line.slice(separator + 1).trim());
  }
  return fields;
}

/** Distinct (socket, core) pairs; undefined where the kernel lists no core ids (most ARM machines). */
function coresOf(blocks: Map<string, string>[]): number | undefined {
  if (!blocks.every((fields) => fields.has('core id'))) return undefined;
  return new Set(blocks.map((fields) => `${fields.get('physical id') ?? 0}/${fields.get('core id')}`)).size;
}
