import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseRocmSmi } from './parse-rocm-smi.js';
import { readFixture } from './test-fixtures.js';

describe('parseRocmSmi', () => {
  it('reads eight AMD GPUs split over NUMA nodes 0 and 1 from --showtoponuma', () => {
    const report = parseRocmSmi(readFixture('rocm-smi-showtoponuma-8xAMD.txt'));
    assert.equal(report.gpus.length, 8);
    assert.deepEqual(report.numaNodes, [0, 1]);
    assert.deepEqual(
      report.gpus.map((gpu) => [gpu.index, gpu.numaNode]),
      [
        [0, 0],
        [1, 0],
        [2, 0],
        [3, 0],
        [4, 1],
        [5, 1],
        [6, 1],
        [7, 1],
      ],
    );
    assert.equal(report.gpus[4]?.fields['(topology) numa affinity'], '1');
    assert.equal(report.failure, undefined);
  });

  it('yields no GPUs for output without GPU lines', () => {
    assert.deepEqual(parseRocmSmi(''), { gpus: [], numaNodes: [] });
  });
});

describe('parseRocmSmi with --showproductname and --showmeminfo vram', () => {
  // Product lines as an MI100 with ROCm 4.0 printed them (ROCm/legacy-rocm-build#1351); the VRAM lines follow
  // the same "GPU[i] : key: value" form. No full recording of these sections is in ./fixtures.
  const report = parseRocmSmi(
    [
      'GPU[0]\t\t: Card series: \t\t0x738c',
      'GPU[0]\t\t: Card model: \t\t0xc34',
      'GPU[0]\t\t: Card vendor: \t\tAdvanced Micro Devices, Inc. [AMD/ATI]',
      'GPU[0]\t\t: VRAM Total Memory (B): 34342961152',
      'GPU[0]\t\t: VRAM Total Used Memory (B): 7028736',
    ].join('\n'),
  );

  it('takes the card series as the name and VRAM in bytes', () => {
    assert.equal(report.gpus[0]?.name, '0x738c');
    assert.equal(report.gpus[0]?.memoryTotalBytes, 34342961152);
    assert.equal(report.gpus[0]?.memoryUsedBytes, 7028736);
    assert.equal(report.gpus[0]?.fields['card vendor'], 'Advanced Micro Devices, Inc. [AMD/ATI]');
  });
});
