import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { HardwareProfile } from './hardware/index.js';
import { gpuClassesOf, HardwareSummary, largestGpuVramBytes, summariseHardware, summaryVramBytes } from './hardware-summary.js';

const GiB = 1024 ** 3;

const eightH100: HardwareProfile = {
  os: 'linux',
  arch: 'x64',
  cpu: { model: 'Intel(R) Xeon(R) Platinum 8480+', cores: 112, threads: 224 },
  memoryTotalBytes: 2048 * GiB,
  disk: { path: '/root', freeBytes: 3000 * GiB },
  gpus: Array.from({ length: 8 }, (_, index) => ({
    index,
    vendor: 'nvidia' as const,
    name: 'NVIDIA H100 80GB HBM3',
    uuid: `GPU-${index}`,
    pciBusId: `00000000:${index}0:00.0`,
    memoryTotalBytes: 81_559 * 1024 ** 2,
  })),
  cudaVersion: '12.4',
  interconnect: {
    nvlink: { allPairs: true, linksPerPair: 18 },
    infiniband: [
      ...Array.from({ length: 8 }, (_, i) => ({ device: `mlx5_${i}`, port: 1, state: 'active', rateGbps: 400, linkLayer: 'InfiniBand' as const })),
      { device: 'mlx5_8', port: 1, state: 'down', rateGbps: 10, linkLayer: 'Ethernet' as const },
    ],
    rdma: true,
  },
  warnings: [],
};

const laptop: HardwareProfile = {
  os: 'linux',
  arch: 'arm64',
  cpu: { model: 'Apple M2', cores: 8, threads: 8 },
  memoryTotalBytes: 16 * GiB,
  disk: null,
  gpus: [],
  interconnect: { nvlink: null, infiniband: [], rdma: false },
  warnings: ['nvidia-smi is not installed'],
};

describe('summariseHardware', () => {
  it('groups identical GPUs, keeps NVLink and active InfiniBand, and drops ids that identify the machine', () => {
    const summary = summariseHardware(eightH100);
    assert.deepEqual(summary.gpus, [{ name: 'NVIDIA H100 80GB HBM3', gpuClass: 'nvidia-h100-80gb', vramBytes: 81_559 * 1024 ** 2, count: 8 }]);
    assert.deepEqual(summary.interconnect, { nvlink: true, nvlinkAllPairs: true, rdma: true, infinibandPorts: 8, infinibandGbps: 3200 });
    assert.equal(summary.diskFreeBytes, 3000 * GiB);
    assert.equal(summary.cudaVersion, '12.4');
    assert.doesNotMatch(JSON.stringify(summary), /GPU-0|00000000:/);
    assert.equal(summaryVramBytes(summary), 8 * 81_559 * 1024 ** 2);
    assert.equal(largestGpuVramBytes(summary), 81_559 * 1024 ** 2);
    assert.deepEqual(gpuClassesOf(summary), ['nvidia-h100-80gb']);
    HardwareSummary.parse(summary);
  });

  it('describes a machine without GPUs or a readable disk', () => {
    const summary = summariseHardware(laptop);
    assert.deepEqual(summary.gpus, []);
    assert.equal(summary.diskFreeBytes, undefined);
    assert.equal(summary.interconnect.nvlink, false);
    assert.equal(summaryVramBytes(summary), 0);
    HardwareSummary.parse(summary);
  });
});
