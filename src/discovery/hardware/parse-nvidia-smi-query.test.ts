import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HardwareOutputError } from './errors.js';
import { parseNvidiaSmiCsv, parseNvidiaSmiQuery } from './parse-nvidia-smi-query.js';
import { readFixture } from './test-fixtures.js';

const MiB = 1024 ** 2;
const allFields = readFixture('nvidia-smi-query-allfields-1xH100-vm.csv');

describe('parseNvidiaSmiQuery', () => {
  it('reads an all-fields query with header and units by field name', () => {
    const { gpus, failure } = parseNvidiaSmiQuery(allFields);
    assert.equal(failure, undefined);
    assert.deepEqual(gpus, [
      {
        index: 0,
        vendor: 'nvidia',
        name: 'NVIDIA H100 80GB HBM3',
        uuid: 'GPU-00000000-0000-0000-0000-000000000000',
        memoryTotalBytes: 81559 * MiB,
        memoryFreeBytes: 81081 * MiB,
        driverVersion: '590.48.01',
        computeCapability: '9.0',
        pciBusId: '00000000:00:09.0',
      },
    ]);
  });

  it('keeps every one of the 212 fields and the units named in the header', () => {
    const { rows, units } = parseNvidiaSmiCsv(allFields);
    assert.equal(rows.length, 1);
    assert.equal(Object.keys(rows[0] ?? {}).length, 212);
    assert.equal(rows[0]?.['memory.reserved'], '479 MiB');
    assert.equal(rows[0]?.['power.limit'], '700.00 W');
    assert.equal(rows[0]?.['vgpu_driver_capability.heterogenous_multivGPU'], '[N/A]');
    assert.equal(units['memory.total'], 'MiB');
    assert.equal(units['clocks.max.sm'], 'MHz');
  });

  it('reads the header-less form in the field order the caller asked for', () => {
    const [header = '', row = ''] = allFields.split('\n');
    const fields = header.split(', ').map((cell) => cell.replace(/ \[.*\]$/, ''));
    const { gpus } = parseNvidiaSmiQuery(`${row}\n`, fields);
    assert.equal(gpus[0]?.name, 'NVIDIA H100 80GB HBM3');
    assert.equal(gpus[0]?.memoryTotalBytes, 81559 * MiB);
  });

  it('treats bracketed placeholders such as [N/A] as absent values', () => {
    const { gpus } = parseNvidiaSmiQuery(allFields.replace('GPU-00000000-0000-0000-0000-000000000000', '[N/A]'));
    assert.equal(gpus[0]?.uuid, undefined);
    assert.equal('uuid' in (gpus[0] ?? {}), false);
  });

  it('yields no NVIDIA GPUs, and the reason, when nvidia-smi cannot reach the driver', () => {
    const { gpus, failure } = parseNvidiaSmiQuery(readFixture('nvidia-smi-no-driver.txt'));
    assert.deepEqual(gpus, []);
    assert.match(failure ?? '', /^NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver/);
  });

  it('yields no GPUs for empty output', () => {
    assert.deepEqual(parseNvidiaSmiQuery(''), { gpus: [] });
  });

  it('refuses a row whose value count does not match the fields, with a named error', () => {
    const [, row = ''] = allFields.split('\n');
    assert.throws(() => parseNvidiaSmiQuery(row), HardwareOutputError);
  });
});
