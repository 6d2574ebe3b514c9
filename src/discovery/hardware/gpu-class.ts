// A stable key per kind of GPU, e.g. "nvidia-h100-80gb", under which the DHT lists providers that have one.
// It must not change with the driver, ECC mode, form factor or memory type, so that one model keeps one key.
import type { GpuInfo, HardwareProfile } from './hardware-profile.js';

const GiB = 1024 ** 3;

/** Words that name the brand or the form factor, not the model. */
const DROPPED_WORDS = new Set([
  'nvidia',
  'geforce',
  'tesla',
  'quadro',
  'amd',
  'ati',
  'radeon',
  'instinct',
  'pcie',
  'sxm',
  'sxm2',
  'sxm3',
  'sxm4',
  'sxm5',
  'oam',
  'hbm',
  'hbm2',
  'hbm2e',
  'hbm3',
  'hbm3e',
]);

/** Memory sizes GPUs are sold with, in GB; drivers report a little less (ECC, reserved memory). */
const MARKETED_SIZES_GB = [
  1, 2, 3, 4, 5, 6, 8, 10, 11, 12, 16, 20, 24, 32, 40, 48, 64, 80, 94, 96, 128, 141, 144, 180, 192, 256, 288,
];

export function gpuClassOf(gpu: Pick<GpuInfo, 'vendor' | 'name' | 'memoryTotalBytes'>): string {
  const words = gpu.name
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((word) => word !== '');
  const namedSize = words.map((word) => /^(\d+)gb$/.exec(word)?.[1]).find((size) => size !== undefined);
  const model = words.filter((word) => !DROPPED_WORDS.has(word) && !/^\d+gb$/.test(word)).join('-') || 'unknown';
  const sizeGb = namedSize !== undefined ? Number(namedSize) : marketedSizeGb(gpu.memoryTotalBytes);
  return `${gpu.vendor}-${model}-${sizeGb}gb`;
}

/** The smallest marketed size at or just under the reported memory (a T4 reports 15 GiB of its 16). */
function marketedSizeGb(bytes: number): number {
  const gib = bytes / GiB;
  return MARKETED_SIZES_GB.find((size) => size >= gib - 0.25) ?? Math.round(gib);
}

export function totalVramBytes(profile: Pick<HardwareProfile, 'gpus'>): number {
  return profile.gpus.reduce((sum, gpu) => sum + gpu.memoryTotalBytes, 0);
}
