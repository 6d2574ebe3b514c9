import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseNvidiaSmiTopo, summariseNvlink, type TopologyLink } from './parse-nvidia-smi-topo.js';
import { readFixture } from './test-fixtures.js';

describe('parseNvidiaSmiTopo', () => {
  it('reads a single H100 past the ANSI underline codes on its header', () => {
    const topo = parseNvidiaSmiTopo(readFixture('nvidia-smi-topo-1xH100-vm-ansi.txt'));
    assert.deepEqual(topo.gpus, [{ name: 'GPU0', index: 0, cpuAffinity: '0-19', numaAffinity: '0' }]);
    assert.deepEqual(topo.gpuLinks, []);
    assert.deepEqual(topo.nics, []);
    assert.equal(topo.nvlink, null);
  });

  it('reads two RTX 5090s joined through a PCIe host bridge, without NVLink', () => {
    const topo = parseNvidiaSmiTopo(readFixture('nvidia-smi-topo-2xRTX5090-pcie.txt'));
    assert.deepEqual(topo.gpuLinks, [{ from: 'GPU0', to: 'GPU1', type: 'PHB' }]);
    assert.equal(topo.gpus[1]?.cpuAffinity, '0-63');
    assert.equal(topo.nvlink, null);
  });

  it('reads eight H100s on NVSwitch: all 28 pairs over 18 NVLinks, eight NICs', () => {
    const topo = parseNvidiaSmiTopo(readFixture('nvidia-smi-topo-8xH100-nvswitch-8nic-truncated.txt'));
    assert.equal(topo.gpus.length, 8);
    assert.equal(topo.gpuLinks.length, 28);
    assert.ok(topo.gpuLinks.every((link) => link.type === 'NV' && link.nvlinks === 18));
    assert.deepEqual(topo.nvlink, { allPairs: true, linksPerPair: 18 });
    assert.deepEqual(
      topo.nics.map((nic) => nic.name),
      ['NIC0', 'NIC1', 'NIC2', 'NIC3', 'NIC4', 'NIC5', 'NIC6', 'NIC7'],
    );
    assert.deepEqual(topo.gpus[4], { name: 'GPU4', index: 4, cpuAffinity: '56-111,168-223', numaAffinity: '1' });
  });

  it('reads GPU-to-NIC distances from the GPU rows even though the NIC rows were cut short', () => {
    const topo = parseNvidiaSmiTopo(readFixture('nvidia-smi-topo-8xH100-nvswitch-8nic-truncated.txt'));
    const fromGpu0 = topo.nicLinks.filter((link) => link.from === 'GPU0').map((link) => link.type);
    assert.deepEqual(fromGpu0, ['PIX', 'PIX', 'NODE', 'NODE', 'SYS', 'SYS', 'SYS', 'SYS']);
    assert.equal(topo.nicLinks.length, 64);
  });

  it('reads eight RTX 4090s all across NUMA nodes (SYS), with GPU6 near both NICs', () => {
    const topo = parseNvidiaSmiTopo(readFixture('nvidia-smi-topo-8xRTX4090-pcie-2nic.txt'));
    assert.equal(topo.gpuLinks.length, 28);
    assert.ok(topo.gpuLinks.every((link) => link.type === 'SYS'));
    assert.equal(topo.nvlink, null);
    assert.deepEqual(
      topo.nicLinks.filter((link) => link.type !== 'SYS'),
      [
        { from: 'GPU6', to: 'NIC0', type: 'PHB' },
        { from: 'GPU6', to: 'NIC1', type: 'PHB' },
      ],
    );
  });

  it('yields no GPUs when nvidia-smi cannot reach the driver', () => {
    const topo = parseNvidiaSmiTopo(readFixture('nvidia-smi-no-driver.txt'));
    assert.deepEqual(topo.gpus, []);
    assert.match(topo.failure ?? '', /NVIDIA-SMI has failed/);
  });
});

describe('summariseNvlink', () => {
  const link = (from: string, to: string, code: string): TopologyLink =>
    code.startsWith('NV') ? { from, to, type: 'NV', nvlinks: Number(code.slice(2)) } : { from, to, type: code };

  it('says not all pairs when NVLink bridges join GPUs two by two', () => {
    const links = [
      link('GPU0', 'GPU1', 'NV4'),
      link('GPU0', 'GPU2', 'SYS'),
      link('GPU0', 'GPU3', 'SYS'),
      link('GPU1', 'GPU2', 'SYS'),
      link('GPU1', 'GPU3', 'SYS'),
      link('GPU2', 'GPU3', 'NV2'),
    ];
    assert.deepEqual(summariseNvlink(links), { allPairs: false, linksPerPair: 2 });
  });

  it('does not call all pairs linked when some pairs are missing from the listing', () => {
    assert.deepEqual(summariseNvlink([link('GPU0', 'GPU1', 'NV18')], 3), { allPairs: false, linksPerPair: 18 });
  });

  it('gives null without any NVLinked pair', () => {
    assert.equal(summariseNvlink([link('GPU0', 'GPU1', 'PIX')]), null);
    assert.equal(summariseNvlink([]), null);
  });
});
