import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { mergeGpuReports } from './detect-nvidia-gpus.js';
import { parseNvidiaSmiXml } from './parse-nvidia-smi-xml.js';
import { readFixture } from './test-fixtures.js';

describe('mergeGpuReports', () => {
  const [a100 = assert.fail()] = parseNvidiaSmiXml(readFixture('nvidia-smi-q-x-A100-SXM4-MIG-1of4.xml')).gpus;
  const { mig, ...fromQuery } = a100;

  it('adds the XML report MIG layout to the query GPU with the same UUID', () => {
    const [merged] = mergeGpuReports([{ ...fromQuery, index: 7 }], [a100]);
    assert.equal(merged?.index, 7);
    assert.deepEqual(merged?.mig, mig);
  });

  it('leaves a query GPU alone when no XML GPU has its UUID', () => {
    const other = { ...fromQuery, uuid: 'GPU-12345678-aaaa-bbbb-cccc-0123456789ab' };
    assert.deepEqual(mergeGpuReports([other], [a100]), [other]);
  });

  it('takes the XML GPUs when the query gave none', () => {
    assert.deepEqual(mergeGpuReports([], [a100]), [a100]);
  });
});
