// What a provider publishes about its machine: the plain data that detectHardware produces and that the
// capability record carries. Sizes are bytes, rates Gb/s; anything a tool did not report is left out.

export type GpuVendor = 'nvidia' | 'amd';

/** A MIG slice of an NVIDIA GPU; with MIG on, CUDA programs see these instead of the whole GPU. */
export interface MigInstance {
  index: number;
  gpuInstanceId: number;
  computeInstanceId: number;
  memoryTotalBytes: number;
  memoryFreeBytes?: number;
  multiprocessorCount?: number;
}

export interface MigInfo {
  enabled: boolean;
  /** The mode after the next GPU reset, when it differs from the current one. */
  pendingEnabled?: boolean;
  instances: MigInstance[];
}

export interface GpuInfo {
  /** The index the vendor tool (and CUDA_VISIBLE_DEVICES / HIP_VISIBLE_DEVICES) uses. */
  index: number;
  vendor: GpuVendor;
  name: string;
  uuid?: string;
  memoryTotalBytes: number;
  memoryFreeBytes?: number;
  driverVersion?: string;
  /** CUDA compute capability such as "9.0"; NVIDIA only. */
  computeCapability?: string;
  pciBusId?: string;
  numaNode?: number;
  mig?: MigInfo;
}

export interface CpuInfo {
  model: string;
  /** Physical cores. */
  cores: number;
  /** Hardware threads (logical CPUs). */
  threads: number;
}

export interface NvlinkSummary {
  /** True when every pair of GPUs is joined by NVLink (directly or through NVSwitch). */
  allPairs: boolean;
  /** The fewest bonded NVLinks between any NVLinked pair. */
  linksPerPair?: number;
}

export type InfinibandLinkLayer = 'InfiniBand' | 'Ethernet';

/** One port of an RDMA adapter; an Ethernet link layer means RoCE. */
export interface InfinibandPort {
  device: string;
  port: number;
  /** Lower-case logical state: "active", "down", "init", "armed", or "unknown". */
  state: string;
  /** Lower-case physical state such as "linkup", "polling", "disabled". */
  physicalState?: string;
  rateGbps: number;
  linkLayer: InfinibandLinkLayer;
}

export interface Interconnect {
  /** Null when fewer than two GPUs share NVLink. */
  nvlink: NvlinkSummary | null;
  infiniband: InfinibandPort[];
  /** True when at least one InfiniBand or RoCE port is active. */
  rdma: boolean;
}

export interface DiskSpace {
  path: string;
  freeBytes: number;
}

export interface HardwareProfile {
  os: string;
  arch: string;
  cpu: CpuInfo;
  memoryTotalBytes: number;
  /** Null when the path could not be examined (the reason is in warnings). */
  disk: DiskSpace | null;
  gpus: GpuInfo[];
  /** The highest CUDA version the NVIDIA driver supports, e.g. "12.2". */
  cudaVersion?: string;
  interconnect: Interconnect;
  /** Why something present on the machine could not be read: a broken driver, a tool that failed. */
  warnings: string[];
}
