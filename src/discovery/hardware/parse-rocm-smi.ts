// Reads rocm-smi's text report, where every value is a "GPU[i] : key: value" line and sections such as
// --showtoponuma, --showproductname and --showmeminfo vram can be asked for together.
import { definedOnly } from './defined-only.js';

export interface RocmSmiGpu {
  index: number;
  /** Every key the report gave for this GPU, lower-cased, to its raw value. */
  fields: Record<string, string>;
  name?: string;
  memoryTotalBytes?: number;
  memoryUsedBytes?: number;
  numaNode?: number;
}

export interface ParseRocmSmiReturnType {
  gpus: RocmSmiGpu[];
  /** The distinct NUMA nodes the GPUs sit on, ascending. */
  numaNodes: number[];
  /** An "ERROR..." line rocm-smi printed, e.g. when the amdgpu driver is not loaded. */
  failure?: string;
}

const GPU_LINE = /^GPU\[(\d+)\]\s*:\s*([^:]+?):\s*(.*?)\s*$/;
// Older releases say "Card series", newer "Card Series"; ROCm 6 reports may carry "Device Name" only.
const NAME_KEYS = ['card series', 'device name', 'card model'];

export function parseRocmSmi(text: string): ParseRocmSmiReturnType {
  const fieldsByGpu = new Map<number, Record<string, string>>();
  for (const line of text.split(/\r?\n/)) {
    const match = GPU_LINE.exec(line);
    if (!match?.[2]) continue;
    const index = Number(match[1]);
    const fields = fieldsByGpu.get(index) ?? {};
    fields[match[2].toLowerCase()] = match[3] ?? '';
    fieldsByGpu.set(index, fields);
  }
  const gpus = [...fieldsByGpu.entries()].sort(([a], [b]) => a - b).map(([index, fields]) => gpuOf(index, fields));
  const numaNodes = [...new Set(gpus.flatMap((gpu) => gpu.numaNode ?? []))].sort((a, b) => a - b);
  const failure = /^ERROR\b.*$/m.exec(text)?.[0].trim();
  return { gpus, numaNodes, ...definedOnly({ failure }) };
}

function gpuOf(index: number, fields: Record<string, string>): RocmSmiGpu {
  const optional = {
    name: NAME_KEYS.map((key) => fields[key]).find((value) => value !== undefined && value !== ''),
    memoryTotalBytes: integerOf(fields['vram total memory (b)']),
    memoryUsedBytes: integerOf(fields['vram total used memory (b)']),
    numaNode: integerOf(fields['(topology) numa node']),
  };
  return { index, fields, ...definedOnly(optional) };
}

const integerOf = (raw: string | undefined): number | undefined => (raw && /^\d+$/.test(raw) ? Number(raw) : undefined);
