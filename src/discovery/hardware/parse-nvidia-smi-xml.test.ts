import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HardwareOutputError } from './errors.js';
import { parseNvidiaSmiXml } from './parse-nvidia-smi-xml.js';
import { readFixture } from './test-fixtures.js';

const MiB = 1024 ** 2;

describe('parseNvidiaSmiXml', () => {
  it('reads a Tesla T4 report (DTD v11) without MIG support', () => {
    const report = parseNvidiaSmiXml(readFixture('nvidia-smi-q-x-1xT4.xml'));
    assert.equal(report.driverVersion, '515.105.01');
    assert.equal(report.cudaVersion, '11.7');
    assert.equal(report.attachedGpus, 1);
    assert.deepEqual(report.gpus, [
      {
        index: 0,
        vendor: 'nvidia',
        name: 'Tesla T4',
        uuid: 'GPU-d37e67a5-91dd-3774-a5cb-99096249601a',
        memoryTotalBytes: 15360 * MiB,
        memoryFreeBytes: 13939 * MiB,
        driverVersion: '515.105.01',
        pciBusId: '00000000:00:1E.0',
      },
    ]);
  });

  it('reads two RTX A5000s (DTD v13) in index order, not /dev/nvidia minor order', () => {
    const report = parseNvidiaSmiXml(readFixture('nvidia-smi-q-x-2xA5000.xml'));
    assert.equal(report.cudaVersion, '13.1');
    assert.deepEqual(
      report.gpus.map((gpu) => [gpu.index, gpu.name, gpu.pciBusId, gpu.memoryTotalBytes, gpu.memoryFreeBytes]),
      [
        [0, 'NVIDIA RTX A5000', '00000000:81:00.0', 24564 * MiB, 1678 * MiB],
        [1, 'NVIDIA RTX A5000', '00000000:C1:00.0', 24564 * MiB, 6862 * MiB],
      ],
    );
    assert.equal(report.gpus[1]?.uuid, 'GPU-12345678-aaaa-bbbb-cccc-0123456789cd');
    assert.equal(report.gpus[0]?.mig, undefined);
  });

  it('reads an A100 with MIG on: the memory of the whole GPU and of its four 19968 MiB instances', () => {
    const report = parseNvidiaSmiXml(readFixture('nvidia-smi-q-x-A100-SXM4-MIG-1of4.xml'));
    assert.equal(report.driverVersion, '535.54.03');
    assert.equal(report.cudaVersion, '12.2');
    const [gpu] = report.gpus;
    assert.equal(gpu?.name, 'NVIDIA A100-SXM4-80GB');
    // The GPU's own <fb_memory_usage>, not the first MIG device's nested one.
    assert.equal(gpu?.memoryTotalBytes, 81920 * MiB);
    assert.equal(gpu?.memoryFreeBytes, 80999 * MiB);
    assert.equal(gpu?.mig?.enabled, true);
    assert.equal(gpu?.mig?.pendingEnabled, undefined);
    assert.deepEqual(
      gpu?.mig?.instances.map((mig) => [mig.index, mig.gpuInstanceId, mig.computeInstanceId, mig.memoryTotalBytes]),
      [
        [0, 3, 0, 19968 * MiB],
        [1, 4, 0, 19968 * MiB],
        [2, 5, 0, 19968 * MiB],
        [3, 6, 0, 19968 * MiB],
      ],
    );
    assert.equal(gpu?.mig?.instances[0]?.multiprocessorCount, 14);
    assert.equal(gpu?.mig?.instances[0]?.memoryFreeBytes, 19955 * MiB);
  });

  it('reports the attached count separately when the report holds fewer GPUs', () => {
    const report = parseNvidiaSmiXml(readFixture('nvidia-smi-q-x-A100-SXM4-MIG-1of4.xml'));
    assert.equal(report.attachedGpus, 4);
    assert.equal(report.gpus.length, 1);
  });

  it('yields no NVIDIA GPUs when nvidia-smi cannot reach the driver', () => {
    const report = parseNvidiaSmiXml(readFixture('nvidia-smi-no-driver.txt'));
    assert.deepEqual(report.gpus, []);
    assert.match(report.failure ?? '', /couldn't communicate with the NVIDIA driver/);
  });

  it('refuses a truncated report with a named error', () => {
    const text = readFixture('nvidia-smi-q-x-1xT4.xml');
    assert.throws(() => parseNvidiaSmiXml(text.slice(0, text.length / 2)), HardwareOutputError);
  });
});
