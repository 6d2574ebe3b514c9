import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseGpuSpec } from './parse-gpu-spec.js';
import { InvalidGpuSpecError } from './planner-errors.js';

const GIB = 1024 ** 3;

describe('parseGpuSpec', () => {
  it('reads 8x80GB,8x80GB as two NVLink nodes of eight 80 GiB GPUs', () => {
    const cluster = parseGpuSpec('8x80GB,8x80GB');
    assert.deepEqual(cluster.nodes.map((n) => [n.id, n.gpus.length, n.intraLink.kind]), [['node-1', 8, 'nvlink'], ['node-2', 8, 'nvlink']]);
    assert.ok(cluster.nodes.every((n) => n.gpus.every((g) => g.memoryBytes === 80 * GIB)));
  });

  const shapes: [string, [number, number, string][]][] = [
    ['80GB', [[1, 80 * GIB, 'nvlink']]],
    ['2x24GB:pcie, 1x48GiB', [[2, 24 * GIB, 'pcie'], [1, 48 * GIB, 'nvlink']]],
    ['4 x 40g', [[4, 40 * GIB, 'nvlink']]],
    ['1x0.5TB', [[1, 512 * GIB, 'nvlink']]],
    ['2x16384MiB:PCIE', [[2, 16 * GIB, 'pcie']]],
  ];
  for (const [spec, nodes] of shapes) {
    it(`reads "${spec}"`, () =>
      assert.deepEqual(parseGpuSpec(spec).nodes.map((n) => [n.gpus.length, n.gpus[0]?.memoryBytes, n.intraLink.kind]), nodes));
  }

  it('takes the default link from the caller', () =>
    assert.equal(parseGpuSpec('2x24GB', { defaultIntraLink: 'pcie' }).nodes[0]?.intraLink.kind, 'pcie'));

  it('names nodes given as NAME=SPEC, so measured links between them apply', () => {
    const cluster = parseGpuSpec('npub1head=2x24GB:pcie,gpu-box.2=1x48GB');
    assert.deepEqual(cluster.nodes.map((n) => [n.id, n.gpus.length]), [['npub1head', 2], ['gpu-box.2', 1]]);
  });

  const invalid = ['a=1x8GB,a=1x8GB', '=1x8GB',  '8x', '8x80XB', '8x80GB:infiniband', '0x80GB', '8x80GB,,8x80GB', '65x80GB', 'eightx80GB', '8x0GB'];
  for (const spec of invalid) {
    it(`refuses "${spec}" with an InvalidGpuSpecError`, () => assert.throws(() => parseGpuSpec(spec), InvalidGpuSpecError));
  }
});
