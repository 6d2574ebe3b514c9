// The part of a HardwareProfile a provider publishes: GPUs grouped by kind, interconnect reduced to what a
// planner weighs, CPU, memory and disk. No serial numbers, UUIDs or bus ids leave the machine.
import { z } from 'zod';
import { gpuClassOf, type HardwareProfile } from './hardware/index.js';

const Bytes = z.number().int().nonnegative();

export const GpuGroup = z
  .object({
    name: z.string().min(1).max(128),
    /** The DHT key class, e.g. "nvidia-h100-80gb" (see gpuClassOf). */
    gpuClass: z.string().min(1).max(128),
    vramBytes: Bytes,
    count: z.number().int().min(1).max(1024),
  })
  .strict();
export type GpuGroup = z.infer<typeof GpuGroup>;

export const HardwareSummary = z
  .object({
    gpus: z.array(GpuGroup).max(64),
    interconnect: z
      .object({
        /** NVLink joins at least two GPUs; allPairs when every pair (NVSwitch or full mesh). */
        nvlink: z.boolean(),
        nvlinkAllPairs: z.boolean(),
        rdma: z.boolean(),
        /** Active InfiniBand or RoCE ports and their summed rate. */
        infinibandPorts: z.number().int().nonnegative(),
        infinibandGbps: z.number().nonnegative(),
      })
      .strict(),
    cpu: z.object({ model: z.string().max(256), cores: z.number().int().nonnegative(), threads: z.number().int().nonnegative() }).strict(),
    memoryBytes: Bytes,
    diskFreeBytes: Bytes.optional(),
    os: z.string().max(32),
    arch: z.string().max(32),
    cudaVersion: z.string().max(16).optional(),
  })
  .strict();
export type HardwareSummary = z.infer<typeof HardwareSummary>;

export function summariseHardware(profile: HardwareProfile): HardwareSummary {
  const groups = new Map<string, GpuGroup>();
  for (const gpu of profile.gpus) {
    const gpuClass = gpuClassOf(gpu);
    const key = `${gpuClass}\0${gpu.name}\0${gpu.memoryTotalBytes}`;
    const group = groups.get(key);
    if (group) group.count += 1;
    else groups.set(key, { name: gpu.name, gpuClass, vramBytes: gpu.memoryTotalBytes, count: 1 });
  }
  const activePorts = profile.interconnect.infiniband.filter((port) => port.state === 'active');
  return {
    gpus: [...groups.values()],
    interconnect: {
      nvlink: profile.interconnect.nvlink !== null,
      nvlinkAllPairs: profile.interconnect.nvlink?.allPairs ?? false,
      rdma: profile.interconnect.rdma,
      infinibandPorts: activePorts.length,
      infinibandGbps: activePorts.reduce((sum, port) => sum + port.rateGbps, 0),
    },
    cpu: { model: profile.cpu.model, cores: profile.cpu.cores, threads: profile.cpu.threads },
    memoryBytes: profile.memoryTotalBytes,
    ...(profile.disk ? { diskFreeBytes: profile.disk.freeBytes } : {}),
    os: profile.os,
    arch: profile.arch,
    ...(profile.cudaVersion ? { cudaVersion: profile.cudaVersion } : {}),
  };
}

export function summaryVramBytes(summary: Pick<HardwareSummary, 'gpus'>): number {
  return summary.gpus.reduce((sum, group) => sum + group.vramBytes * group.count, 0);
}

/** The most VRAM one GPU of the machine has. */
export function largestGpuVramBytes(summary: Pick<HardwareSummary, 'gpus'>): number {
  return summary.gpus.reduce((most, group) => Math.max(most, group.vramBytes), 0);
}

export function gpuClassesOf(summary: Pick<HardwareSummary, 'gpus'>): string[] {
  return [...new Set(summary.gpus.map((group) => group.gpuClass))];
}
