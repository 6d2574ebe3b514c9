// Finds AMD GPUs with rocm-smi: name, VRAM and NUMA node from one call that asks for all three sections.
import type { CommandRunner } from './command-runner.js';
import { definedOnly } from './defined-only.js';
import type { GpuInfo } from './hardware-profile.js';
import { parseRocmSmi, type RocmSmiGpu } from './parse-rocm-smi.js';
import { runTool, type Warn } from './run-tool.js';

export const ROCM_SMI_ARGS = ['--showproductname', '--showmeminfo', 'vram', '--showtoponuma'];

export async function detectAmdGpus(run: CommandRunner, warn: Warn): Promise<GpuInfo[]> {
  const report = await runTool(run, 'rocm-smi', ROCM_SMI_ARGS, parseRocmSmi, warn);
  if (report?.failure) warn(`rocm-smi: ${report.failure}`);
  const gpus = report?.gpus ?? [];
  const unsized = gpus.filter((gpu) => gpu.memoryTotalBytes === undefined).map((gpu) => `GPU[${gpu.index}]`);
  if (unsized.length > 0) warn(`rocm-smi reported no VRAM size for ${unsized.join(', ')}; counted as 0 bytes`);
  return gpus.map(gpuOf);
}

function gpuOf(gpu: RocmSmiGpu): GpuInfo {
  const { memoryTotalBytes, memoryUsedBytes } = gpu;
  const optional = {
    memoryFreeBytes:
      memoryTotalBytes !== undefined && memoryUsedBytes !== undefined ? memoryTotalBytes - memoryUsedBytes : undefined,
    numaNode: gpu.numaNode,
  };
  const name = gpu.name ?? 'AMD GPU';
  return { index: gpu.index, vendor: 'amd', name, memoryTotalBytes: memoryTotalBytes ?? 0, ...definedOnly(optional) };
}
