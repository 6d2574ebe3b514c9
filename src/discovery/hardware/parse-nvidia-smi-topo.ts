// Reads the `nvidia-smi topo -m` matrix: how each pair of GPUs (and each GPU and NIC) is connected, and from
// that whether tensor parallelism across all GPUs can run over NVLink.
import type { NvlinkSummary } from './hardware-profile.js';
import { nvidiaSmiFailureOf } from './nvidia-smi-values.js';

/**
 * NV = bonded NVLinks; over PCIe, from nearest to farthest: PIX (one bridge), PXB (several bridges), PHB (through
 * a host bridge), NODE (between host bridges of one NUMA node), SYS (across NUMA nodes). Older drivers say SOC
 * for SYS. Kept as a string so that a code from a newer driver still reads.
 */
export type TopologyLinkType = 'NV' | 'PIX' | 'PXB' | 'PHB' | 'NODE' | 'SYS' | 'SOC' | (string & {});

export interface TopologyLink {
  from: string;
  to: string;
  type: TopologyLinkType;
  /** For NV links: how many NVLinks are bonded. */
  nvlinks?: number;
}

export interface TopologyGpu {
  name: string;
  index: number;
  cpuAffinity?: string;
  numaAffinity?: string;
}

export interface TopologyNic {
  name: string;
  /** The RDMA device behind the NIC, from the "NIC Legend" (e.g. mlx5_0), when the output has one. */
  device?: string;
}

export interface ParseNvidiaSmiTopoReturnType {
  gpus: TopologyGpu[];
  nics: TopologyNic[];
  /** Each unordered GPU pair once. */
  gpuLinks: TopologyLink[];
  /** Each GPU to each NIC. */
  nicLinks: TopologyLink[];
  nvlink: NvlinkSummary | null;
  failure?: string;
}

const ANSI_ESCAPE = /\x1b\[[0-9;]*m/g;
const ATTRIBUTE_COLUMNS = new Set(['CPU Affinity', 'NUMA Affinity', 'GPU NUMA ID']);
const GPU_NAME = /^GPU(\d+)$/;

interface Matrix {
  devices: string[];
  attributes: string[];
  rows: Map<string, string[]>;
}

export function parseNvidiaSmiTopo(text: string): ParseNvidiaSmiTopoReturnType {
  const lines = text.replace(ANSI_ESCAPE, '').split(/\r?\n/);
  const matrix = matrixOf(lines);
  const failure = nvidiaSmiFailureOf(text);
  if (!matrix) return { gpus: [], nics: [], gpuLinks: [], nicLinks: [], nvlink: null, ...(failure ? { failure } : {}) };
  const gpuNames = matrix.devices.filter((name) => GPU_NAME.test(name));
  const nicNames = matrix.devices.filter((name) => !GPU_NAME.test(name));
  const gpuLinks = unorderedPairsOf(gpuNames).flatMap(([from, to]) => linkOf(matrix, from, to));
  const nicLinks = gpuNames.flatMap((gpu) => nicNames.flatMap((nic) => linkOf(matrix, gpu, nic)));
  return {
    gpus: gpuNames.map((name) => gpuOf(matrix, name)),
    nics: nicsOf(nicNames, lines),
    gpuLinks,
    nicLinks,
    nvlink: summariseNvlink(gpuLinks, unorderedPairsOf(gpuNames).length),
  };
}

/**
 * Summarises GPU-to-GPU links; null when no pair of GPUs shares NVLink. `pairCount` is how many pairs there are,
 * so that pairs whose rows are missing from the listing do not count as linked.
 */
export function summariseNvlink(gpuLinks: readonly TopologyLink[], pairCount = gpuLinks.length): NvlinkSummary | null {
  const nvlinked = gpuLinks.filter((link) => link.type === 'NV' && link.nvlinks !== undefined);
  if (nvlinked.length === 0) return null;
  const linksPerPair = Math.min(...nvlinked.map((link) => link.nvlinks as number));
  return { allPairs: nvlinked.length === pairCount, linksPerPair };
}

/** The header is the first row whose first cell is blank; the matrix ends at the first blank line after it. */
function matrixOf(lines: string[]): Matrix | undefined {
  const start = lines.findIndex((line) => line.includes('\t') && line.split('\t')[0]?.trim() === '' && /\S/.test(line));
  if (start < 0) return undefined;
  const columns = cellsOf(lines[start] ?? '').slice(1);
  const devices = columns.filter((column) => !ATTRIBUTE_COLUMNS.has(column));
  const attributes = columns.filter((column) => ATTRIBUTE_COLUMNS.has(column));
  const rows = new Map<string, string[]>();
  for (const line of lines.slice(start + 1)) {
    if (line.trim() === '') break;
    const [name = '', ...cells] = cellsOf(line);
    rows.set(name, cells);
  }
  return { devices, attributes, rows };
}

const cellsOf = (line: string): string[] => line.split('\t').map((cell) => cell.trim());

const unorderedPairsOf = (names: string[]): [string, string][] =>
  names.flatMap((from, i) => names.slice(i + 1).map((to): [string, string] => [from, to]));

/** Reads row `from`, column `to`; a row missing from a cut-short listing gives no link. */
function linkOf(matrix: Matrix, from: string, to: string): TopologyLink[] {
  const code = matrix.rows.get(from)?.[matrix.devices.indexOf(to)];
  if (!code) return [];
  const nv = /^NV(\d+)$/.exec(code);
  return [nv ? { from, to, type: 'NV', nvlinks: Number(nv[1]) } : { from, to, type: code }];
}

/** Affinity values follow the device cells; blank cells are skipped because nvidia-smi pads with extra tabs. */
function gpuOf(matrix: Matrix, name: string): TopologyGpu {
  const values = (matrix.rows.get(name) ?? []).slice(matrix.devices.length).filter((value) => value !== '');
  const valueOf = (column: string): string | undefined => {
    const value = values[matrix.attributes.indexOf(column)];
    return value === undefined || value === 'N/A' ? undefined : value;
  };
  const gpu: TopologyGpu = { name, index: Number(GPU_NAME.exec(name)?.[1]) };
  const cpuAffinity = valueOf('CPU Affinity');
  const numaAffinity = valueOf('NUMA Affinity');
  return { ...gpu, ...(cpuAffinity ? { cpuAffinity } : {}), ...(numaAffinity ? { numaAffinity } : {}) };
}

/** Maps NICn to its device through the "NIC Legend" lines ("  NIC0: mlx5_0"), when present. */
function nicsOf(names: string[], lines: string[]): TopologyNic[] {
  const legend = new Map<string, string>();
  for (const line of lines) {
    const match = /^\s*(NIC\d+):\s*(\S+)\s*$/.exec(line);
    if (match?.[1] && match[2]) legend.set(match[1], match[2]);
  }
  return names.map((name) => {
    const device = legend.get(name);
    return device ? { name, device } : { name };
  });
}
