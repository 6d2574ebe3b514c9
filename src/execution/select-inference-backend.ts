// Which llama.cpp backend a provider's engine loads, from what detectHardware found: CUDA when an NVIDIA GPU answers,
// else Vulkan (an AMD GPU, where llama.cpp has no ROCm build here) or Metal (Apple silicon), else the CPU. Pure, so
// it is table-tested on recorded nvidia-smi outputs; the chosen device's free memory is what a model must fit in.
import type { GpuInfo, HardwareProfile } from '../discovery/hardware/index.js';
import type { EngineGpu } from './engine-worker-protocol.js';
import type { GpuRequest } from './execution-templates.js';

export interface InferenceBackend {
  /** What getLlama({ gpu }) is given: false for the CPU. */
  gpu: EngineGpu;
  /** 'cpu', or the GPU's index and name, for the log and `infernet status --json`. */
  device: string;
  /** The memory a model must fit in: the GPU's free VRAM, or undefined for the CPU (free RAM, read at load). */
  freeBytes?: number;
  /** The GPUs the engine's container requests (HostConfig.DeviceRequests), when it runs on an NVIDIA GPU. */
  containerGpus?: GpuRequest;
}

export type SelectInferenceBackendParameters = Pick<HardwareProfile, 'gpus' | 'os' | 'arch'>;

export function selectInferenceBackend({ gpus, os, arch }: SelectInferenceBackendParameters): InferenceBackend {
  const nvidia = usable(gpus.filter((gpu) => gpu.vendor === 'nvidia'));
  if (nvidia) {
    return { gpu: 'cuda', device: `GPU ${nvidia.index} ${nvidia.name}`, ...freeOf(nvidia), containerGpus: { deviceIds: [nvidia.uuid ?? String(nvidia.index)] } };
  }
  const amd = usable(gpus.filter((gpu) => gpu.vendor === 'amd'));
  if (amd) return { gpu: 'vulkan', device: `GPU ${amd.index} ${amd.name}`, ...freeOf(amd) };
  if (os === 'darwin' && arch === 'arm64') return { gpu: 'metal', device: 'Apple GPU' };
  return { gpu: false, device: 'cpu' };
}

/** The GPU with the most free memory: the engine runs on one GPU. */
function usable(gpus: GpuInfo[]): GpuInfo | undefined {
  return [...gpus].sort((a, b) => (b.memoryFreeBytes ?? b.memoryTotalBytes) - (a.memoryFreeBytes ?? a.memoryTotalBytes) || a.index - b.index)[0];
}

function freeOf(gpu: GpuInfo): { freeBytes: number } {
  return { freeBytes: gpu.memoryFreeBytes ?? gpu.memoryTotalBytes };
}
