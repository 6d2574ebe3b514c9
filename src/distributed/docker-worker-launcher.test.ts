import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CURRENT_EXECUTION_TEMPLATE_VERSION, llamaCppRpcContainerSpec } from '../execution/index.js';
import { CONTAINER_TENSOR_CACHE_DIR, withReadOnlyTensorCache } from './docker-worker-launcher.js';

describe("a Docker worker's tensor cache", () => {
  const template = llamaCppRpcContainerSpec({
    version: CURRENT_EXECUTION_TEMPLATE_VERSION,
    image: 'infernet-runtime:test',
    owner: { jobId: 'job-1', nodeId: 'node-1' },
    binHostDir: '/opt/llama/bin',
    threads: 2,
    limits: { memoryBytes: 2 ** 30, cpus: 2, pids: 66, tmpfsBytes: 2 ** 24 },
  });
  const spec = withReadOnlyTensorCache(template, '/home/p/.infernet/rpc-cache');

  it('mounts the host cache read-only, names it LLAMA_CACHE and runs the worker with -c', () => {
    assert.deepEqual(spec.Cmd, [...template.Cmd!, '-c']);
    assert.deepEqual(spec.Env, [...(template.Env ?? []), `LLAMA_CACHE=${CONTAINER_TENSOR_CACHE_DIR}`]);
    assert.deepEqual(spec.HostConfig!.Mounts!.at(-1), { Type: 'bind', Source: '/home/p/.infernet/rpc-cache', Target: CONTAINER_TENSOR_CACHE_DIR, ReadOnly: true });
  });

  it('changes nothing else of the sandbox: no network, the same limits and mounts', () => {
    assert.deepEqual({ ...spec, Cmd: template.Cmd, Env: template.Env, HostConfig: { ...spec.HostConfig, Mounts: spec.HostConfig!.Mounts!.slice(0, -1) } }, template);
    assert.equal(spec.NetworkDisabled, true);
    assert.equal(spec.HostConfig!.NetworkMode, 'none');
  });
});
