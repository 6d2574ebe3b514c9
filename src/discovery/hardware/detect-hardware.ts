// Builds a provider's HardwareProfile from this machine: CPU and memory from /proc and `os`, free disk from
// statfs, GPUs from nvidia-smi and rocm-smi, RDMA ports from sysfs. Never throws for absent or broken hardware
// tools: what cannot be read is left out and said in `warnings`.
import { statfs } from 'node:fs/promises';
import os from 'node:os';
import { execFileRunner, type CommandRunner } from './command-runner.js';
import { detectAmdGpus } from './detect-amd-gpus.js';
import { detectInfiniband } from './detect-infiniband.js';
import { detectNvidiaGpus, type DetectNvidiaGpusReturnType } from './detect-nvidia-gpus.js';
import type { CpuInfo, DiskSpace, GpuInfo, HardwareProfile, InfinibandPort } from './hardware-profile.js';
import { parseCpuinfo } from './parse-cpuinfo.js';
import type { Warn } from './run-tool.js';
import { listDirectory, readTextFile, type ListDirectory, type ReadTextFile } from './system-files.js';

export interface DetectHardwareOptions {
  /** Runs nvidia-smi, rocm-smi and ibstat; tests hand in recorded outputs. */
  run?: CommandRunner;
  readFile?: ReadTextFile;
  listDir?: ListDirectory;
  /** Where the node keeps models; its free space is reported. Defaults to the home folder. */
  diskPath?: string;
}

export type DetectHardwareReturnType = HardwareProfile;

export async function detectHardware(options: DetectHardwareOptions = {}): Promise<DetectHardwareReturnType> {
  const run = options.run ?? execFileRunner();
  const readFile = options.readFile ?? readTextFile;
  const listDir = options.listDir ?? listDirectory;
  const warnings: string[] = [];
  const warn: Warn = (message) => warnings.push(message);
  const [cpu, disk, nvidia, amdGpus, infiniband] = await Promise.all([
    detectCpu(readFile, warn),
    detectDiskSpace(options.diskPath ?? os.homedir(), warn),
    attempt('NVIDIA GPUs', () => detectNvidiaGpus(run, warn), { gpus: [], nvlink: null }, warn),
    attempt('AMD GPUs', () => detectAmdGpus(run, warn), [], warn),
    attempt('InfiniBand ports', () => detectInfiniband({ run, readFile, listDir, warn }), [], warn),
  ]);
  return profileOf({ cpu, disk, nvidia, amdGpus, infiniband, warnings });
}

interface Detected {
  cpu: CpuInfo;
  disk: DiskSpace | null;
  nvidia: DetectNvidiaGpusReturnType;
  amdGpus: GpuInfo[];
  infiniband: InfinibandPort[];
  warnings: string[];
}

function profileOf({ cpu, disk, nvidia, amdGpus, infiniband, warnings }: Detected): HardwareProfile {
  return {
    os: os.platform(),
    arch: os.arch(),
    cpu,
    memoryTotalBytes: os.totalmem(),
    disk,
    gpus: [...nvidia.gpus, ...amdGpus],
    ...(nvidia.cudaVersion ? { cudaVersion: nvidia.cudaVersion } : {}),
    interconnect: {
      nvlink: nvidia.nvlink,
      infiniband,
      rdma: infiniband.some((port) => port.state === 'active'),
    },
    warnings,
  };
}

/** /proc/cpuinfo where there is one (Linux); os.cpus() for what it lacks. */
async function detectCpu(readFile: ReadTextFile, warn: Warn): Promise<CpuInfo> {
  const text = await attempt('/proc/cpuinfo', () => readFile('/proc/cpuinfo'), undefined, warn);
  const parsed = text === undefined ? { threads: 0 } : parseCpuinfo(text);
  const threads = parsed.threads || os.availableParallelism();
  return { model: parsed.model ?? os.cpus()[0]?.model ?? 'unknown', cores: parsed.cores ?? threads, threads };
}

async function detectDiskSpace(path: string, warn: Warn): Promise<DiskSpace | null> {
  try {
    const stats = await statfs(path);
    return { path, freeBytes: stats.bavail * stats.bsize };
  } catch (error) {
    warn(`free disk space of ${path} unknown: ${(error as Error).message}`);
    return null;
  }
}

/** Runs one detector; an unexpected failure costs only its part of the profile and becomes a warning. */
async function attempt<T>(what: string, detect: () => Promise<T>, fallback: T, warn: Warn): Promise<T> {
  try {
    return await detect();
  } catch (error) {
    warn(`${what} not read: ${error instanceof Error ? error.message : String(error)}`);
    return fallback;
  }
}
