import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCpuinfo } from './parse-cpuinfo.js';
import { readFixture } from './test-fixtures.js';

describe('parseCpuinfo', () => {
  it('reads the model, cores and threads of a recorded 2-vCPU Xeon VM', () => {
    assert.deepEqual(parseCpuinfo(readFixture('proc-cpuinfo-2vcpu-xeon-vm.txt')), {
      model: 'Intel(R) Xeon(R) Processor',
      cores: 2,
      threads: 2,
    });
  });

  it('counts hyper-threaded siblings, which share a core id, as one core', () => {
    const thread = (processor: number, core: number): string =>
      `processor\t: ${processor}\nmodel name\t: Test CPU\nphysical id\t: 0\ncore id\t\t: ${core}\n`;
    const text = [thread(0, 0), thread(1, 1), thread(2, 0), thread(3, 1)].join('\n');
    assert.deepEqual(parseCpuinfo(text), { model: 'Test CPU', cores: 2, threads: 4 });
  });

  it('leaves the model and cores out where the kernel does not list them', () => {
    const text = 'processor\t: 0\nBogoMIPS\t: 50.00\n\nprocessor\t: 1\nBogoMIPS\t: 50.00\n';
    assert.deepEqual(parseCpuinfo(text), { threads: 2 });
  });

  it('finds the model in the separate "Hardware" block older ARM kernels write', () => {
    const text = 'processor\t: 0\nBogoMIPS\t: 38.40\n\nprocessor\t: 1\nBogoMIPS\t: 38.40\n\nHardware\t: BCM2835\n';
    assert.deepEqual(parseCpuinfo(text), { model: 'BCM2835', threads: 2 });
  });
});
