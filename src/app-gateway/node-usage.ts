// What the dashboard shows of the machine: CPU (from the kernel's counters between two samples), memory, the
// daemon's own memory, and each NVIDIA GPU's utilization as nvidia-smi reports it (none on a machine without one).
import { execFile } from 'node:child_process';
import { cpus, freemem, loadavg, totalmem } from 'node:os';
import type { GpuUsage, NodeUsage } from './app-messages.js';

const NVIDIA_SMI_TIMEOUT_MS = 3_000;
const MIB = 1024 * 1024;

interface CpuTimes {
  idle: number;
  total: number;
}

function cpuTimes(): CpuTimes {
  let idle = 0;
  let total = 0;
  for (const cpu of cpus()) {
    const { user, nice, sys, irq, idle: cpuIdle } = cpu.times;
    idle += cpuIdle;
    total += user + nice + sys + irq + cpuIdle;
  }
  return { idle, total };
}

/** Busy share of the CPU time between two samples, 0-100. */
export function cpuPercentBetween(before: CpuTimes, after: CpuTimes): number {
  const total = after.total - before.total;
  if (total <= 0) return 0;
  return Math.round(((total - (after.idle - before.idle)) / total) * 1000) / 10;
}

/** `nvidia-smi --query-gpu=name,utilization.gpu,memory.used,memory.total --format=csv,noheader,nounits` lines. */
export function parseGpuUsageCsv(text: string): GpuUsage[] {
  const gpus: GpuUsage[] = [];
  for (const line of text.split('\n')) {
    const fields = line.split(',').map((field) => field.trim());
    if (fields.length !== 4) continue;
    const [name, utilization, used, total] = fields as [string, string, string, string];
    const numbers = [utilization, used, total].map(Number);
    if (!name || numbers.some((value) => !Number.isFinite(value))) continue; // "[N/A]" on some boards
    gpus.push({ name, utilizationPercent: numbers[0]!, memoryUsedBytes: numbers[1]! * MIB, memoryTotalBytes: numbers[2]! * MIB });
  }
  return gpus;
}

function readGpuUsage(): Promise<GpuUsage[]> {
  return new Promise((resolve) => {
    execFile(
      'nvidia-smi',
      ['--query-gpu=name,utilization.gpu,memory.used,memory.total', '--format=csv,noheader,nounits'],
      { timeout: NVIDIA_SMI_TIMEOUT_MS },
      (error, stdout) => resolve(error ? [] : parseGpuUsageCsv(stdout)), // no driver, no tool: no GPUs to show
    );
  });
}

/** Samples usage; each call reports the CPU share since the previous one. */
export class NodeUsageSampler {
  private previous = cpuTimes();
  private gpuToolMissing = false;

  async sample(): Promise<NodeUsage> {
    const now = cpuTimes();
    const cpuPercent = cpuPercentBetween(this.previous, now);
    this.previous = now;
    const gpus = this.gpuToolMissing ? [] : await readGpuUsage();
    if (!gpus.length) this.gpuToolMissing = true; // asked once; a machine does not grow a GPU while running
    return {
      at: Date.now(),
      cpuPercent,
      cores: cpus().length,
      load1: loadavg()[0] ?? 0,
      memoryUsedBytes: totalmem() - freemem(),
      memoryTotalBytes: totalmem(),
      processRssBytes: process.memoryUsage.rss(),
      gpus,
    };
  }
}
