import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HardwareOutputError } from './errors.js';
import { infinibandPortFromSysfs, parseInfinibandSysfsListing } from './parse-infiniband-sysfs.js';
import { readFixture } from './test-fixtures.js';

const listing = readFixture('sys-class-infiniband-ports-rate-8xH100-node.txt');

describe('parseInfinibandSysfsListing', () => {
  it('groups the rate files of an H100 node by device and port', () => {
    const ports = parseInfinibandSysfsListing(listing);
    assert.equal(ports.length, 9);
    assert.deepEqual(ports[0], { device: 'mlx5_0', port: 1, attributes: { rate: '400 Gb/sec (4X NDR)' } });
    assert.deepEqual(ports[8], { device: 'mlx5_bond_0', port: 1, attributes: { rate: '200 Gb/sec (2X NDR)' } });
  });
});

describe('infinibandPortFromSysfs', () => {
  it('reads the rate in Gb/s from each listed port', () => {
    const rates = parseInfinibandSysfsListing(listing).map((port) => infinibandPortFromSysfs(port).rateGbps);
    assert.deepEqual(rates, [400, 400, 400, 400, 400, 400, 400, 400, 200]);
  });

  it('reads state and physical state in the "4: ACTIVE" form sysfs writes', () => {
    const attributes = {
      state: '4: ACTIVE',
      phys_state: '5: LinkUp',
      rate: '400 Gb/sec (4X NDR)',
      link_layer: 'InfiniBand',
    };
    const port = infinibandPortFromSysfs({ device: 'mlx5_0', port: 1, attributes });
    assert.deepEqual(port, {
      device: 'mlx5_0',
      port: 1,
      state: 'active',
      physicalState: 'linkup',
      rateGbps: 400,
      linkLayer: 'InfiniBand',
    });
  });

  it('calls a port without a state file "unknown" rather than up', () => {
    const [port] = parseInfinibandSysfsListing(listing);
    assert.equal(port && infinibandPortFromSysfs(port).state, 'unknown');
  });

  it('refuses a port without a readable rate, with a named error', () => {
    assert.throws(() => infinibandPortFromSysfs({ device: 'mlx5_0', port: 1, attributes: {} }), HardwareOutputError);
  });
});
