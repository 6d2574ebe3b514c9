import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIbstatus } from './parse-ibstatus.js';
import { readFixture } from './test-fixtures.js';

describe('parseIbstatus', () => {
  it('reads an A100 node: eight HDR InfiniBand ports at 200 Gb/s and one Ethernet port at 40', () => {
    const ports = parseIbstatus(readFixture('ibstatus-8xA100-node-HDR-IB.txt'));
    assert.equal(ports.length, 9);
    assert.deepEqual(ports[0], {
      device: 'mlx5_0',
      port: 1,
      state: 'active',
      physicalState: 'linkup',
      rateGbps: 200,
      linkLayer: 'InfiniBand',
    });
    const hdr = ports.slice(0, 8).filter((port) => port.rateGbps === 200 && port.linkLayer === 'InfiniBand');
    assert.equal(hdr.length, 8);
    assert.deepEqual([ports[8]?.device, ports[8]?.rateGbps, ports[8]?.linkLayer], ['mlx5_8', 40, 'Ethernet']);
  });
});
