// Finds NVIDIA GPUs with nvidia-smi: the CSV query for the GPU list (it alone gives the compute capability), the
// XML report for the CUDA version and MIG layout, and the topology matrix for NVLink and NUMA placement.
import type { CommandResult, CommandRunner } from './command-runner.js';
import { HardwareOutputError } from './errors.js';
import type { GpuInfo, NvlinkSummary } from './hardware-profile.js';
import { nvidiaSmiFailureOf } from './nvidia-smi-values.js';
import { NVIDIA_SMI_GPU_QUERY_FIELDS, parseNvidiaSmiQuery } from './parse-nvidia-smi-query.js';
import { parseNvidiaSmiTopo, type ParseNvidiaSmiTopoReturnType } from './parse-nvidia-smi-topo.js';
import { parseNvidiaSmiXml } from './parse-nvidia-smi-xml.js';
import { runTool, type Warn } from './run-tool.js';

export interface DetectNvidiaGpusReturnType {
  gpus: GpuInfo[];
  cudaVersion?: string;
  nvlink: NvlinkSummary | null;
}

const NVIDIA_SMI = 'nvidia-smi';
// With a header, the parser reads fields by name, so an older driver's answer cannot be misread.
export const NVIDIA_SMI_QUERY_ARGS = [`--query-gpu=${NVIDIA_SMI_GPU_QUERY_FIELDS.join(',')}`, '--format=csv,nounits'];
export const NVIDIA_SMI_XML_ARGS = ['-q', '-x'];
export const NVIDIA_SMI_TOPO_ARGS = ['topo', '-m'];

const NONE: DetectNvidiaGpusReturnType = { gpus: [], nvlink: null };

export async function detectNvidiaGpus(run: CommandRunner, warn: Warn): Promise<DetectNvidiaGpusReturnType> {
  const result = await run(NVIDIA_SMI, NVIDIA_SMI_QUERY_ARGS);
  if (result.status === 'missing') return NONE;
  const query = gpusFromQuery(result, warn);
  if (query === null) return NONE;
  const [xml, topology] = await Promise.all([
    runTool(run, NVIDIA_SMI, NVIDIA_SMI_XML_ARGS, parseNvidiaSmiXml, warn),
    runTool(run, NVIDIA_SMI, NVIDIA_SMI_TOPO_ARGS, parseNvidiaSmiTopo, warn),
  ]);
  const gpus = withNumaNodes(mergeGpuReports(query, xml?.gpus ?? []), topology);
  const nvlink = gpus.length >= 2 ? (topology?.nvlink ?? null) : null;
  return { gpus, nvlink, ...(xml?.cudaVersion ? { cudaVersion: xml.cudaVersion } : {}) };
}

/** The queried GPUs, or null when nvidia-smi says the driver is unusable and asking it more is pointless. */
function gpusFromQuery(result: Exclude<CommandResult, { status: 'missing' }>, warn: Warn): GpuInfo[] | null {
  const printed = result.status === 'ok' ? result.stdout : result.error.output;
  const gpus = result.status === 'ok' ? parseQuery(printed, warn) : [];
  const failure = nvidiaSmiFailureOf(printed);
  if (failure && gpus.length === 0) {
    warn(`no usable NVIDIA GPU: ${result.status === 'failed' ? result.error.message : failure}`);
    return null;
  }
  // A failure beside rows is one GPU lost ("Unable to determine the device handle"); the others still count.
  if (failure) warn(`nvidia-smi: ${failure}`);
  // A query that fails for another reason (a field an old driver lacks) still leaves the XML report.
  else if (result.status === 'failed') warn(result.error.message);
  return gpus;
}

function parseQuery(text: string, warn: Warn): GpuInfo[] {
  try {
    return parseNvidiaSmiQuery(text).gpus;
  } catch (error) {
    if (!(error instanceof HardwareOutputError)) throw error;
    warn(error.message);
    return [];
  }
}

/** The query's GPUs with the XML report's MIG layout; the XML's own GPUs when the query gave none. */
export function mergeGpuReports(query: GpuInfo[], xml: GpuInfo[]): GpuInfo[] {
  if (query.length === 0) return xml;
  return query.map((gpu) => {
    const match = xml.find((other) => sameGpu(gpu, other));
    return match?.mig ? { ...gpu, mig: match.mig } : gpu;
  });
}

function sameGpu(a: GpuInfo, b: GpuInfo): boolean {
  if (a.uuid && b.uuid) return a.uuid === b.uuid;
  if (a.pciBusId && b.pciBusId) return a.pciBusId.toUpperCase() === b.pciBusId.toUpperCase();
  return a.index === b.index;
}

function withNumaNodes(gpus: GpuInfo[], topology: ParseNvidiaSmiTopoReturnType | undefined): GpuInfo[] {
  return gpus.map((gpu) => {
    const affinity = topology?.gpus.find((entry) => entry.index === gpu.index)?.numaAffinity;
    return affinity !== undefined && /^\d+$/.test(affinity) ? { ...gpu, numaNode: Number(affinity) } : gpu;
  });
}
