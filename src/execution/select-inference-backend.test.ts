import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseNvidiaSmiXml } from '../discovery/hardware/index.js';
import { readFixture } from '../discovery/hardware/test-fixtures.js';
import { llamaCppEngineContainerSpec } from './execution-templates.js';
import { selectInferenceBackend } from './select-inference-backend.js';

// Recorded outputs from ../shared/fixtures/hardware, copied with their sources into src/discovery/hardware/fixtures.
const machines = {
  '1x T4 (nvidia-smi -q -x)': { os: 'linux', arch: 'x64', gpus: parseNvidiaSmiXml(readFixture('nvidia-smi-q-x-1xT4.xml')).gpus },
  '2x RTX A5000 (nvidia-smi -q -x)': { os: 'linux', arch: 'x64', gpus: parseNvidiaSmiXml(readFixture('nvidia-smi-q-x-2xA5000.xml')).gpus },
  'no driver (nvidia-smi fails)': { os: 'linux', arch: 'x64', gpus: parseNvidiaSmiXml(readFixture('nvidia-smi-no-driver.txt')).gpus },
  'an AMD GPU': { os: 'linux', arch: 'x64', gpus: [{ index: 0, vendor: 'amd' as const, name: 'AMD Instinct MI300X', memoryTotalBytes: 192 * 2 ** 30 }] },
  'Apple silicon': { os: 'darwin', arch: 'arm64', gpus: [] },
  'this CPU-only machine': { os: 'linux', arch: 'x64', gpus: [] },
};

describe('selectInferenceBackend: CUDA when an NVIDIA GPU answers, else Vulkan or Metal, else the CPU', () => {
  const expected: Record<keyof typeof machines, { gpu: string | false; device: RegExp }> = {
    '1x T4 (nvidia-smi -q -x)': { gpu: 'cuda', device: /^GPU 0 Tesla T4$/ },
    '2x RTX A5000 (nvidia-smi -q -x)': { gpu: 'cuda', device: /^GPU \d RTX A5000$|^GPU \d NVIDIA RTX A5000$/ },
    'no driver (nvidia-smi fails)': { gpu: false, device: /^cpu$/ },
    'an AMD GPU': { gpu: 'vulkan', device: /^GPU 0 AMD Instinct MI300X$/ },
    'Apple silicon': { gpu: 'metal', device: /^Apple GPU$/ },
    'this CPU-only machine': { gpu: false, device: /^cpu$/ },
  };
  for (const [name, machine] of Object.entries(machines)) {
    it(`chooses ${String(expected[name as keyof typeof machines].gpu || 'the CPU')} on ${name}`, () => {
      const backend = selectInferenceBackend(machine);
      assert.equal(backend.gpu, expected[name as keyof typeof machines].gpu);
      assert.match(backend.device, expected[name as keyof typeof machines].device);
      assert.equal(backend.containerGpus !== undefined, backend.gpu === 'cuda');
      if (backend.gpu === 'cuda') assert.ok((backend.freeBytes ?? 0) > 2 ** 30);
    });
  }

  it('requests the chosen NVIDIA GPU for the engine container by its UUID, and none on the CPU', () => {
    const t4 = selectInferenceBackend(machines['1x T4 (nvidia-smi -q -x)']);
    const uuid = machines['1x T4 (nvidia-smi -q -x)'].gpus[0]!.uuid!;
    const params = { version: 1 as const, image: 'infernet-runtime:test', owner: { jobId: 'engine-x', nodeId: 'node-x' }, modelHostPath: '/models/m.gguf', limits: { memoryBytes: 2 ** 30, cpus: 1, pids: 256, tmpfsBytes: 2 ** 26 } };
    const gpuSpec = llamaCppEngineContainerSpec({ ...params, gpus: t4.containerGpus! });
    assert.deepEqual(gpuSpec.HostConfig?.DeviceRequests, [{ Driver: 'nvidia', DeviceIDs: [uuid], Capabilities: [['gpu']] }]);
    const cpuSpec = llamaCppEngineContainerSpec(params);
    assert.equal(cpuSpec.HostConfig?.DeviceRequests, undefined);
    assert.deepEqual(cpuSpec.Cmd, ['/usr/local/bin/node', '/app/dist/src/execution/engine-worker.js']);
    assert.equal(cpuSpec.HostConfig?.NetworkMode, 'none');
    assert.equal(cpuSpec.User, '10001:10001');
    assert.deepEqual(cpuSpec.HostConfig?.Mounts, [{ Type: 'bind', Source: '/models/m.gguf', Target: '/models/model.gguf', ReadOnly: true }]);
  });
});
