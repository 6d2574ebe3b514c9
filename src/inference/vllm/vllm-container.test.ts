import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { vllmServerContainerSpec } from './vllm-container.js';

describe("the vLLM server's container (the vllm execution template, version 1)", () => {
  const limits = { memoryBytes: 32 * 2 ** 30, cpus: 4, pids: 4096, tmpfsBytes: 4 * 2 ** 30 };
  const spec = vllmServerContainerSpec({ nodeId: 'node-abcdef0123456789', gpus: { deviceIds: ['GPU-1234'] }, limits, gpuMemoryUtilization: 0.85, maxModelLength: 8192, extraArgs: ['--enforce-eager'] }, { modelPath: '/srv/models/qwen2.5-7b', servedName: 'qwen2.5-7b' });

  it("runs the template's pinned image with vllm serve, the model read-only, the operator's settings after the template's", () => {
    assert.equal(spec.Image, 'vllm/vllm-openai:v0.11.0');
    assert.deepEqual(spec.Entrypoint, ['vllm', 'serve']);
    assert.deepEqual(spec.Cmd, ['/models/qwen2.5-7b', '--served-model-name', 'qwen2.5-7b', '--host', '0.0.0.0', '--port', '8000', '--tensor-parallel-size', '1', '--max-model-len', '8192', '--gpu-memory-utilization', '0.85', '--enforce-eager']);
    assert.deepEqual(spec.HostConfig?.Mounts, [{ Type: 'bind', Source: '/srv/models/qwen2.5-7b', Target: '/models/qwen2.5-7b', ReadOnly: true }]);
  });

  it('asks for the chosen GPU and puts the server on an internal network of this node, labelled for the reaper', () => {
    assert.deepEqual(spec.HostConfig?.DeviceRequests, [{ Driver: 'nvidia', DeviceIDs: ['GPU-1234'], Capabilities: [['gpu']] }]);
    assert.equal(spec.HostConfig?.NetworkMode, 'infernet-vllm-node-abcdef0');
    assert.equal(spec.HostConfig?.Memory, 32 * 2 ** 30);
    assert.equal(spec.Labels?.['io.infernet.node'], 'node-abcdef0123456789');
    assert.equal(spec.Labels?.['io.infernet.template'], 'vllm@1');
  });
});
