import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { gpuClassOf, totalVramBytes } from './gpu-class.js';
import type { GpuInfo } from './hardware-profile.js';
import { parseNvidiaSmiQuery } from './parse-nvidia-smi-query.js';
import { parseNvidiaSmiXml } from './parse-nvidia-smi-xml.js';
import { readFixture } from './test-fixtures.js';

const MiB = 1024 ** 2;
const nvidia = (name: string, memoryMiB: number): GpuInfo => ({
  index: 0,
  vendor: 'nvidia',
  name,
  memoryTotalBytes: memoryMiB * MiB,
});

describe('gpuClassOf', () => {
  it('keys the recorded GPUs by model and marketed memory', () => {
    const h100 = parseNvidiaSmiQuery(readFixture('nvidia-smi-query-allfields-1xH100-vm.csv')).gpus[0];
    const t4 = parseNvidiaSmiXml(readFixture('nvidia-smi-q-x-1xT4.xml')).gpus[0];
    const a5000 = parseNvidiaSmiXml(readFixture('nvidia-smi-q-x-2xA5000.xml')).gpus[0];
    const a100 = parseNvidiaSmiXml(readFixture('nvidia-smi-q-x-A100-SXM4-MIG-1of4.xml')).gpus[0];
    assert.deepEqual(
      [h100, t4, a5000, a100].map((gpu) => gpu && gpuClassOf(gpu)),
      ['nvidia-h100-80gb', 'nvidia-t4-16gb', 'nvidia-rtx-a5000-24gb', 'nvidia-a100-80gb'],
    );
  });

  it('gives one key to one model whatever its form factor or memory type', () => {
    assert.equal(gpuClassOf(nvidia('NVIDIA H100 PCIe', 81559)), 'nvidia-h100-80gb');
    assert.equal(gpuClassOf(nvidia('NVIDIA H100 80GB HBM3', 81559)), 'nvidia-h100-80gb');
    assert.equal(gpuClassOf(nvidia('NVIDIA A100 80GB PCIe', 81920)), 'nvidia-a100-80gb');
    assert.equal(gpuClassOf(nvidia('NVIDIA A100-SXM4-80GB', 81920)), 'nvidia-a100-80gb');
  });

  it('tells memory variants of one model apart', () => {
    assert.equal(gpuClassOf(nvidia('NVIDIA A100-SXM4-40GB', 40960)), 'nvidia-a100-40gb');
    assert.equal(gpuClassOf(nvidia('NVIDIA GeForce RTX 3080', 10240)), 'nvidia-rtx-3080-10gb');
    assert.equal(gpuClassOf(nvidia('NVIDIA GeForce RTX 3080', 12288)), 'nvidia-rtx-3080-12gb');
  });

  it('rounds reported memory up to the size the card is sold with', () => {
    assert.equal(gpuClassOf(nvidia('NVIDIA GeForce RTX 4090', 24564)), 'nvidia-rtx-4090-24gb');
    assert.equal(gpuClassOf(nvidia('NVIDIA GeForce RTX 5090', 32607)), 'nvidia-rtx-5090-32gb');
    assert.equal(gpuClassOf(nvidia('NVIDIA L4', 23034)), 'nvidia-l4-24gb');
    assert.equal(gpuClassOf(nvidia('NVIDIA H200', 143771)), 'nvidia-h200-141gb');
  });

  it('keys AMD GPUs under the amd vendor', () => {
    const mi300x: GpuInfo = { index: 0, vendor: 'amd', name: 'AMD Instinct MI300X', memoryTotalBytes: 196592 * MiB };
    assert.equal(gpuClassOf(mi300x), 'amd-mi300x-192gb');
  });
});

describe('totalVramBytes', () => {
  it('adds the memory of every GPU', () => {
    const { gpus } = parseNvidiaSmiXml(readFixture('nvidia-smi-q-x-2xA5000.xml'));
    assert.equal(totalVramBytes({ gpus }), 2 * 24564 * MiB);
    assert.equal(totalVramBytes({ gpus: [] }), 0);
  });
});
