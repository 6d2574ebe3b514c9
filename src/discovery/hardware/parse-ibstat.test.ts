import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseIbstat } from './parse-ibstat.js';
import { readFixture } from './test-fixtures.js';

describe('parseIbstat', () => {
  it('reads an H100 node with twelve RoCE adapters: eight at 400 Gb/s, four at 100 Gb/s', () => {
    const { ports, failure } = parseIbstat(readFixture('ibstat-8xH100-node-12xCX-RoCE.txt'));
    assert.equal(failure, undefined);
    assert.equal(ports.length, 12);
    assert.ok(ports.every((port) => port.linkLayer === 'Ethernet' && port.state === 'active' && port.port === 1));
    assert.deepEqual(
      ports.filter((port) => port.rateGbps === 100).map((port) => port.device),
      ['mlx5_1', 'mlx5_2', 'mlx5_7', 'mlx5_8'],
    );
    assert.equal(ports.filter((port) => port.rateGbps === 400).length, 8);
    // The last line has no newline after it.
    assert.deepEqual(ports.at(-1), {
      device: 'mlx5_9',
      port: 1,
      state: 'active',
      physicalState: 'linkup',
      rateGbps: 400,
      linkLayer: 'Ethernet',
    });
  });

  it('reads an H100 node with eight NDR InfiniBand ports and one bonded RoCE port', () => {
    const { ports } = parseIbstat(readFixture('ibstat-8xH100-node-8xCX7-NDR-IB.txt'));
    assert.deepEqual(
      ports.map((port) => [port.device, port.rateGbps, port.linkLayer]),
      [
        ['mlx5_0', 400, 'InfiniBand'],
        ['mlx5_1', 400, 'InfiniBand'],
        ['mlx5_4', 400, 'InfiniBand'],
        ['mlx5_5', 400, 'InfiniBand'],
        ['mlx5_6', 400, 'InfiniBand'],
        ['mlx5_7', 400, 'InfiniBand'],
        ['mlx5_8', 400, 'InfiniBand'],
        ['mlx5_9', 400, 'InfiniBand'],
        ['mlx5_bond_0', 200, 'Ethernet'],
      ],
    );
  });

  it('keeps the eight adapters read before an ibpanic, and reports the panic', () => {
    const { ports, failure } = parseIbstat(readFixture('ibstat-A100-node-ibpanic-exit255.txt'));
    assert.equal(ports.length, 8);
    assert.ok(ports.every((port) => port.rateGbps === 200 && port.linkLayer === 'InfiniBand'));
    assert.equal(ports[7]?.device, 'mlx5_7');
    assert.equal(failure, "ibpanic: [1400444] main: stat of IB device 'mlx5_8' failed: No such file or directory");
  });

  it('yields no ports for empty output', () => {
    assert.deepEqual(parseIbstat(''), { ports: [] });
  });
});
