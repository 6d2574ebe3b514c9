// Test-only: sample hardware and announcements, a logger that keeps its lines, and bounded waiting.
import { Writable } from 'node:stream';
import { pino } from 'pino';
import type { Logger } from '../../log/index.js';
import type { AnnounceParameters } from '../discovery-service.js';
import type { HardwareSummary } from '../hardware-summary.js';

const GiB = 1024 ** 3;

/** One NVIDIA T4 (15 GiB usable) on a small VM. */
export const T4_MACHINE: HardwareSummary = {
  gpus: [{ name: 'Tesla T4', gpuClass: 'nvidia-t4-16gb', vramBytes: 15 * GiB, count: 1 }],
  interconnect: { nvlink: false, nvlinkAllPairs: false, rdma: false, infinibandPorts: 0, infinibandGbps: 0 },
  cpu: { model: 'Intel(R) Xeon(R) CPU @ 2.20GHz', cores: 4, threads: 8 },
  memoryBytes: 32 * GiB,
  diskFreeBytes: 200 * GiB,
  os: 'linux',
  arch: 'x64',
  cudaVersion: '12.2',
};

/** Eight H100s joined by NVSwitch, with eight 400 Gb/s InfiniBand ports. */
export const H100_NODE: HardwareSummary = {
  gpus: [{ name: 'NVIDIA H100 80GB HBM3', gpuClass: 'nvidia-h100-80gb', vramBytes: 80 * GiB, count: 8 }],
  interconnect: { nvlink: true, nvlinkAllPairs: true, rdma: true, infinibandPorts: 8, infinibandGbps: 3200 },
  cpu: { model: 'Intel(R) Xeon(R) Platinum 8480+', cores: 112, threads: 224 },
  memoryBytes: 2048 * GiB,
  os: 'linux',
  arch: 'x64',
};

/** A laptop without a GPU. */
export const CPU_MACHINE: HardwareSummary = {
  gpus: [],
  interconnect: { nvlink: false, nvlinkAllPairs: false, rdma: false, infinibandPorts: 0, infinibandGbps: 0 },
  cpu: { model: 'AMD Ryzen 7', cores: 8, threads: 16 },
  memoryBytes: 16 * GiB,
  os: 'linux',
  arch: 'x64',
};

export function sampleAnnouncement(overrides: Partial<AnnounceParameters> = {}): AnnounceParameters {
  return {
    hardware: T4_MACHINE,
    models: [{ name: 'stories260K', sizeBytes: 1_185_376 }],
    endpoint: 'ws://127.0.0.1:7420',
    slots: 2,
    price: { amount: '0.002', currency: 'USD', per: '1k_tokens' },
    region: 'eu-west',
    software: { infernet: '0.1.0', engine: 'llama.cpp' },
    ...overrides,
  };
}

export interface CapturingLogger {
  logger: Logger;
  lines: Array<Record<string, unknown>>;
}

/** A pino logger at `level` whose lines are parsed and kept for assertions. */
export function capturingLogger(level: 'debug' | 'info' | 'warn' = 'warn'): CapturingLogger {
  const lines: Array<Record<string, unknown>> = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim()) lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: pino({ level }, sink), lines };
}

export interface WaitForOptions {
  timeoutMs: number;
  intervalMs?: number;
  /** Said in the error when the time runs out. */
  what: string;
}

type Truthy<T> = Exclude<T, false | 0 | '' | null | undefined>;

/** Polls until probe returns something truthy, and returns it; throws after timeoutMs. */
export async function waitFor<T>(probe: () => T | Promise<T>, { timeoutMs, intervalMs = 50, what }: WaitForOptions): Promise<Truthy<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as Truthy<T>;
    if (Date.now() >= deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
