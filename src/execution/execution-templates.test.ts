import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  ExecutionTemplateError,
  llamaCppContainerSpec,
  vllmContainerSpec,
  vllmRayContainerSpecs,
  interconnectFromConfig,
  llamaCppRpcContainerSpec,
  llamaCppRpcRelayCommand,
  llamaServerContainerSpec,
  vllmParallelismOf,
  type ContainerLimits,
  type ExecutionTemplateVersion,
  type LlamaCppTemplateParams,
  type VllmRayTemplateParams,
  type VllmTemplateParams,
} from './execution-templates.js';
import { validateNodeConfig } from '../config/index.js';
import { LLAMA_3_70B, parseGpuSpec, planDeployment } from '../planner/index.js';

const GiB = 2 ** 30;
const limits: ContainerLimits = { memoryBytes: 2 * GiB, cpus: 1.5, pids: 128, tmpfsBytes: 64 * 2 ** 20 };
const sandbox = {
  ReadonlyRootfs: true,
  CapDrop: ['ALL'],
  SecurityOpt: ['no-new-privileges'],
  Memory: 2 * GiB,
  MemorySwap: 2 * GiB,
  NanoCpus: 1_500_000_000,
  PidsLimit: 128,
  Init: true,
};
const labels = (jobId: string, nodeId: string, template: string, role: string) => ({
  'io.infernet.job': jobId,
  'io.infernet.node': nodeId,
  'io.infernet.template': template,
  'io.infernet.role': role,
});
const gpu = (request: { Count: number } | { DeviceIDs: string[] }) => ({ Driver: 'nvidia', ...request, Capabilities: [['gpu']] });

describe('the llama.cpp execution template, version 1', () => {
  const base: LlamaCppTemplateParams = {
    version: 1,
    image: 'infernet-runtime:0123456789abcdef',
    owner: { jobId: 'job-1234', nodeId: 'node-a' },
    modelHostPath: '/srv/models/stories260K.gguf',
    limits,
  };
  const expected = (deviceRequests?: object[]) => ({
    Image: 'infernet-runtime:0123456789abcdef',
    Cmd: ['/usr/local/bin/node', '/app/dist/src/execution/container-worker.js'],
    User: '10001:10001',
    WorkingDir: '/app',
    Env: ['HOME=/tmp', 'NODE_ENV=production'],
    Labels: labels('job-1234', 'node-a', 'llama.cpp@1', 'job'),
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: true,
    StdinOnce: true,
    Tty: false,
    NetworkDisabled: true,
    HostConfig: {
      ...sandbox,
      Tmpfs: { '/tmp': 'rw,noexec,nosuid,nodev,size=67108864' },
      NetworkMode: 'none',
      Mounts: [{ Type: 'bind', Source: '/srv/models/stories260K.gguf', Target: '/models/model.gguf', ReadOnly: true }],
      ...(deviceRequests ? { DeviceRequests: deviceRequests } : {}),
    },
  });

  const cases: { name: string; params: LlamaCppTemplateParams; spec: object }[] = [
    { name: 'on the CPU: no network, no GPU', params: base, spec: expected() },
    { name: 'on any one GPU', params: { ...base, gpus: { count: 1 } }, spec: expected([gpu({ Count: 1 })]) },
    { name: 'on a chosen GPU', params: { ...base, gpus: { deviceIds: ['GPU-3f2a'] } }, spec: expected([gpu({ DeviceIDs: ['GPU-3f2a'] })]) },
  ];
  for (const { name, params, spec } of cases) {
    it(`gives the exact container spec ${name}`, () => {
      assert.deepEqual(llamaCppContainerSpec(params), spec);
    });
  }

  const refusals: { name: string; params: LlamaCppTemplateParams; message: RegExp }[] = [
    { name: 'two GPUs', params: { ...base, gpus: { count: 2 } }, message: /CPU or on one GPU/ },
    { name: 'a relative model path', params: { ...base, modelHostPath: 'models/x.gguf' }, message: /must be absolute/ },
    { name: 'an unknown version', params: { ...base, version: 2 as ExecutionTemplateVersion }, message: /version 2 does not exist \(known: 1\)/ },
  ];
  for (const { name, params, message } of refusals) {
    it(`refuses ${name}`, () => {
      assert.throws(() => llamaCppContainerSpec(params), (error) => error instanceof ExecutionTemplateError && message.test(error.message));
    });
  }
});

describe('the vLLM single-node execution template, version 1', () => {
  const base: VllmTemplateParams = {
    version: 1,
    owner: { jobId: 'serve-llama-70b', nodeId: 'node-a' },
    model: { hostPath: '/srv/models/Llama-3.1-70B-Instruct', servedName: 'llama-3.1-70b', maxModelLength: 8192 },
    tensorParallelSize: 2,
    gpus: { deviceIds: ['0', '1'] },
    network: 'infernet-internal',
    limits,
  };

  it('serves with tensor parallelism over the given GPUs, on an internal network, with nothing downloaded', () => {
    assert.deepEqual(vllmContainerSpec(base), {
      Image: 'vllm/vllm-openai:v0.11.0',
      Entrypoint: ['vllm', 'serve'],
      Cmd: [
        '/models/llama-3.1-70b',
        '--served-model-name',
        'llama-3.1-70b',
        '--host',
        '0.0.0.0',
        '--port',
        '8000',
        '--tensor-parallel-size',
        '2',
        '--max-model-len',
        '8192',
      ],
      User: '10001:10001',
      Env: ['HOME=/tmp', 'XDG_CACHE_HOME=/tmp/.cache', 'HF_HUB_OFFLINE=1', 'TRANSFORMERS_OFFLINE=1', 'VLLM_NO_USAGE_STATS=1', 'DO_NOT_TRACK=1'],
      Labels: labels('serve-llama-70b', 'node-a', 'vllm@1', 'server'),
      ExposedPorts: { '8000/tcp': {} },
      HostConfig: {
        ...sandbox,
        Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=67108864' },
        NetworkMode: 'infernet-internal',
        ShmSize: 8 * GiB,
        Mounts: [{ Type: 'bind', Source: '/srv/models/Llama-3.1-70B-Instruct', Target: '/models/llama-3.1-70b', ReadOnly: true }],
        DeviceRequests: [gpu({ DeviceIDs: ['0', '1'] })],
      },
    });
  });

  it('takes another image, and leaves out the model length when not given', () => {
    const spec = vllmContainerSpec({ ...base, image: 'registry.local/vllm:pinned', model: { hostPath: '/m/q', servedName: 'q' }, tensorParallelSize: 4, gpus: { count: 4 } });
    assert.equal(spec.Image, 'registry.local/vllm:pinned');
    assert.deepEqual(spec.Cmd, ['/models/q', '--served-model-name', 'q', '--host', '0.0.0.0', '--port', '8000', '--tensor-parallel-size', '4']);
    assert.deepEqual(spec.HostConfig?.DeviceRequests, [gpu({ Count: 4 })]);
  });

  const refusals: { name: string; params: VllmTemplateParams; message: RegExp }[] = [
    { name: 'a tensor parallel size other than its GPUs', params: { ...base, tensorParallelSize: 4 }, message: /tensor parallel size 4 needs as many GPUs, got 2/ },
    { name: 'a zero tensor parallel size', params: { ...base, tensorParallelSize: 0 }, message: /positive integer/ },
    { name: 'a served name that could escape /models', params: { ...base, model: { hostPath: '/m', servedName: '../etc' } }, message: /served model name/ },
  ];
  for (const { name, params, message } of refusals) {
    it(`refuses ${name}`, () => {
      assert.throws(() => vllmContainerSpec(params), (error) => error instanceof ExecutionTemplateError && message.test(error.message));
    });
  }
});

describe('the vLLM multi-node (Ray) execution template, version 1', () => {
  const base: VllmRayTemplateParams = {
    version: 1,
    jobId: 'serve-llama-405b',
    model: { hostPath: '/shared/models/Llama-3.1-405B-Instruct', servedName: 'llama-3.1-405b' },
    tensorParallelSize: 8,
    pipelineParallelSize: 2,
    head: { nodeId: 'node-a', address: '10.0.0.1', gpus: { count: 8 } },
    workers: [{ nodeId: 'node-b', address: '10.0.0.2', gpus: { count: 8 } }],
    interconnect: { socketInterface: 'ib0', ibHcas: ['mlx5_0', 'mlx5_1'] },
    limits,
  };
  const env = (address: string, ib: string) => [
    'HOME=/tmp',
    'XDG_CACHE_HOME=/tmp/.cache',
    'HF_HUB_OFFLINE=1',
    'TRANSFORMERS_OFFLINE=1',
    'VLLM_NO_USAGE_STATS=1',
    'DO_NOT_TRACK=1',
    `VLLM_HOST_IP=${address}`,
    'NCCL_SOCKET_IFNAME=ib0',
    'GLOO_SOCKET_IFNAME=ib0',
    ib,
    'INFERNET_RAY_PORT=6379',
    'INFERNET_RAY_HEAD=10.0.0.1:6379',
    'INFERNET_CLUSTER_GPUS=16',
  ];
  const hostConfig = (rdma: boolean) => ({
    ...sandbox,
    Tmpfs: { '/tmp': 'rw,nosuid,nodev,size=67108864' },
    NetworkMode: 'host',
    ShmSize: 8 * GiB,
    Mounts: [{ Type: 'bind', Source: '/shared/models/Llama-3.1-405B-Instruct', Target: '/shared/models/Llama-3.1-405B-Instruct', ReadOnly: true }],
    DeviceRequests: [gpu({ Count: 8 })],
    ...(rdma
      ? {
          CapAdd: ['IPC_LOCK'],
          Ulimits: [{ Name: 'memlock', Soft: -1, Hard: -1 }],
          Devices: [{ PathOnHost: '/dev/infiniband', PathInContainer: '/dev/infiniband', CgroupPermissions: 'rwm' }],
        }
      : {}),
  });

  it('starts a Ray head that serves with tensor and pipeline parallelism once every GPU joined, and Ray workers, over InfiniBand', () => {
    const { head, workers } = vllmRayContainerSpecs(base);
    assert.deepEqual(head, {
      Image: 'vllm/vllm-openai:v0.11.0',
      Entrypoint: ['/bin/bash'],
      Cmd: [
        '-c',
        [
          'set -euo pipefail',
          'ray start --head --node-ip-address="$VLLM_HOST_IP" --port="$INFERNET_RAY_PORT" --disable-usage-stats',
          `until python3 -c "import ray, sys; ray.init(address='auto', logging_level='ERROR'); sys.exit(0 if ray.cluster_resources().get('GPU', 0) >= int(sys.argv[1]) else 1)" "$INFERNET_CLUSTER_GPUS"; do sleep 2; done`,
          'exec vllm serve "$@"',
        ].join('\n'),
        'infernet-vllm-head',
        '/shared/models/Llama-3.1-405B-Instruct',
        '--served-model-name',
        'llama-3.1-405b',
        '--host',
        '127.0.0.1',
        '--port',
        '8000',
        '--tensor-parallel-size',
        '8',
        '--pipeline-parallel-size',
        '2',
        '--distributed-executor-backend',
        'ray',
      ],
      User: '10001:10001',
      Env: env('10.0.0.1', 'NCCL_IB_HCA=mlx5_0,mlx5_1'),
      Labels: labels('serve-llama-405b', 'node-a', 'vllm-ray@1', 'head'),
      HostConfig: hostConfig(true),
    });
    assert.deepEqual(workers, [
      {
        Image: 'vllm/vllm-openai:v0.11.0',
        Entrypoint: ['/bin/bash'],
        Cmd: [
          '-c',
          'set -euo pipefail\nexec ray start --block --address="$INFERNET_RAY_HEAD" --node-ip-address="$VLLM_HOST_IP" --disable-usage-stats',
          'infernet-vllm-worker',
        ],
        User: '10001:10001',
        Env: env('10.0.0.2', 'NCCL_IB_HCA=mlx5_0,mlx5_1'),
        Labels: labels('serve-llama-405b', 'node-b', 'vllm-ray@1', 'worker'),
        HostConfig: hostConfig(true),
      },
    ]);
  });

  it('turns InfiniBand off and needs no RDMA privileges on a sockets-only interconnect', () => {
    const { head, workers } = vllmRayContainerSpecs({ ...base, interconnect: { socketInterface: 'ib0' } });
    assert.deepEqual(head.Env, env('10.0.0.1', 'NCCL_IB_DISABLE=1'));
    assert.deepEqual(workers[0]?.Env, env('10.0.0.2', 'NCCL_IB_DISABLE=1'));
    assert.deepEqual(head.HostConfig, hostConfig(false));
  });

  it('spreads pipeline stages over several workers with their own GPUs', () => {
    const specs = vllmRayContainerSpecs({
      ...base,
      tensorParallelSize: 2,
      pipelineParallelSize: 3,
      head: { nodeId: 'node-a', address: '10.0.0.1', gpus: { deviceIds: ['0', '1'] } },
      workers: [
        { nodeId: 'node-b', address: '10.0.0.2', gpus: { count: 2 } },
        { nodeId: 'node-c', address: '10.0.0.3', gpus: { deviceIds: ['2', '3'] } },
      ],
    });
    assert.deepEqual(
      specs.workers.map((worker) => [worker.Labels?.['io.infernet.node'], worker.HostConfig?.DeviceRequests, worker.Env?.find((line) => line.startsWith('VLLM_HOST_IP'))]),
      [
        ['node-b', [gpu({ Count: 2 })], 'VLLM_HOST_IP=10.0.0.2'],
        ['node-c', [gpu({ DeviceIDs: ['2', '3'] })], 'VLLM_HOST_IP=10.0.0.3'],
      ],
    );
    assert.ok(specs.head.Env?.includes('INFERNET_CLUSTER_GPUS=6'));
    assert.deepEqual(specs.head.Cmd?.slice(-6), ['--tensor-parallel-size', '2', '--pipeline-parallel-size', '3', '--distributed-executor-backend', 'ray']);
  });

  const refusals: { name: string; params: VllmRayTemplateParams; message: RegExp }[] = [
    { name: 'parallel sizes that do not cover the GPUs', params: { ...base, pipelineParallelSize: 3 }, message: /tensor parallel 8 x pipeline parallel 3 must equal the cluster's 16 GPUs/ },
    { name: 'a relative model path', params: { ...base, model: { hostPath: 'models/x', servedName: 'x' } }, message: /must be absolute/ },
    { name: 'an unknown version', params: { ...base, version: 7 as ExecutionTemplateVersion }, message: /version 7 does not exist/ },
  ];
  for (const { name, params, message } of refusals) {
    it(`refuses ${name}`, () => {
      assert.throws(() => vllmRayContainerSpecs(params), (error) => error instanceof ExecutionTemplateError && message.test(error.message));
    });
  }
});

describe('the vLLM templates fed by the config and the planner', () => {
  const limits = { memoryBytes: 2 ** 30, cpus: 1, pids: 64, tmpfsBytes: 2 ** 20 };
  it("passes the config's interconnect section (RoCE GID, Gloo interface, Ray port) into every member's environment", () => {
    const config = validateNodeConfig({ interconnect: { socketInterface: 'eth1', glooSocketInterface: 'eth2', ibHcas: ['mlx5_0:1'], ibGidIndex: 3, rayPort: 6400 } }, 'config.yaml');
    const specs = vllmRayContainerSpecs({
      version: 1,
      jobId: 'j',
      model: { hostPath: '/models/m', servedName: 'm' },
      ...vllmParallelismOf(planDeployment(LLAMA_3_70B, parseGpuSpec('2x40GB,2x40GB'))),
      head: { nodeId: 'a', address: '10.0.0.1', gpus: { count: 2 } },
      workers: [{ nodeId: 'b', address: '10.0.0.2', gpus: { count: 2 } }],
      interconnect: interconnectFromConfig(config.interconnect!),
      limits,
    });
    for (const spec of [specs.head, ...specs.workers]) {
      const env = spec.Env ?? [];
      assert.ok(['NCCL_SOCKET_IFNAME=eth1', 'GLOO_SOCKET_IFNAME=eth2', 'NCCL_IB_HCA=mlx5_0:1', 'NCCL_IB_GID_INDEX=3', 'INFERNET_RAY_PORT=6400', 'INFERNET_RAY_HEAD=10.0.0.1:6400'].every((line) => env.includes(line)), env.join(' '));
    }
    assert.deepEqual(specs.head.Cmd?.slice(-6), ['--tensor-parallel-size', '2', '--pipeline-parallel-size', '2', '--distributed-executor-backend', 'ray']);
  });

  it('refuses interconnect settings that are not interface or adapter names, naming the field', () => {
    assert.throws(() => validateNodeConfig({ interconnect: { socketInterface: 'eth0; rm -rf /' } }, 'config.yaml'), /interconnect\.socketInterface: must be a network interface name/);
    assert.throws(() => validateNodeConfig({ interconnect: { socketInterface: 'ib0', ibHcas: ['mlx5 0'] } }, 'config.yaml'), /interconnect\.ibHcas\.0: must be an adapter name/);
    assert.throws(() => validateNodeConfig({ interconnect: { socketInterface: 'ib0', rayPort: 80 } }, 'config.yaml'), /interconnect\.rayPort/);
  });
});

describe('the llama.cpp RPC worker template, version 1', () => {
  const limits = { memoryBytes: 2 ** 30, cpus: 1, pids: 65, tmpfsBytes: 16 * 2 ** 20 };
  it('runs ggml-rpc-server on the loopback of a container without network, its build and libraries read-only', () => {
    const spec = llamaCppRpcContainerSpec({ version: 1, image: 'infernet-runtime:abc', owner: { jobId: 'job-1', nodeId: 'node-1' }, binHostDir: '/cache/llama-rpc/build/bin', libraryHostPaths: ['/lib/x86_64-linux-gnu/libgomp.so.1'], threads: 2, limits });
    assert.deepEqual(spec, {
      Image: 'infernet-runtime:abc',
      Cmd: ['/opt/llama-rpc/bin/ggml-rpc-server', '-H', '127.0.0.1', '-p', '50052', '-t', '2'],
      User: '10001:10001',
      Env: ['HOME=/tmp', 'LD_LIBRARY_PATH=/opt/llama-rpc/bin'],
      Labels: { 'io.infernet.job': 'job-1', 'io.infernet.node': 'node-1', 'io.infernet.template': 'llama.cpp-rpc@1', 'io.infernet.role': 'rpc-worker' },
      NetworkDisabled: true,
      HostConfig: {
        ReadonlyRootfs: true,
        Tmpfs: { '/tmp': `rw,noexec,nosuid,nodev,size=${16 * 2 ** 20}` },
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        Memory: 2 ** 30,
        MemorySwap: 2 ** 30,
        NanoCpus: 1e9,
        PidsLimit: 65,
        Init: true,
        NetworkMode: 'none',
        AutoRemove: true,
        Mounts: [
          { Type: 'bind', Source: '/cache/llama-rpc/build/bin', Target: '/opt/llama-rpc/bin', ReadOnly: true },
          { Type: 'bind', Source: '/lib/x86_64-linux-gnu/libgomp.so.1', Target: '/lib/x86_64-linux-gnu/libgomp.so.1', ReadOnly: true },
        ],
      },
    });
    assert.deepEqual(llamaCppRpcRelayCommand(1).slice(0, 2), ['/usr/local/bin/node', '-e']);
    assert.match(llamaCppRpcRelayCommand(1)[2]!, /connect\(50052,'127\.0\.0\.1'\)/);
  });
  it('refuses a relative build directory', () => {
    assert.throws(() => llamaCppRpcContainerSpec({ version: 1, image: 'i', owner: { jobId: 'j', nodeId: 'n' }, binHostDir: 'build/bin', threads: 1, limits }), ExecutionTemplateError);
  });
});

describe('the llama-server template, version 1', () => {
  const limits = { memoryBytes: 2 ** 30, cpus: 2, pids: 64, tmpfsBytes: 16 * 2 ** 20 };
  const params = {
    version: 1 as const,
    image: 'infernet-runtime:abc',
    owner: { jobId: 'llama-server-1', nodeId: 'node-1' },
    binHostDir: '/cache/llama-rpc/build/bin',
    libraryHostPaths: ['/lib/x86_64-linux-gnu/libgomp.so.1'],
    modelHostPath: '/models/tiny.gguf',
    servingArguments: ['-t', '2', '-c', '1024', '-np', '4', '--no-webui'],
    network: 'infernet-llama-node-1',
    limits,
  };
  it('serves the model read-only on the internal network only, as non-root, its build and libraries read-only', () => {
    assert.deepEqual(llamaServerContainerSpec(params), {
      Image: 'infernet-runtime:abc',
      Cmd: ['/opt/llama-rpc/bin/llama-server', '-m', '/models/model.gguf', '--host', '0.0.0.0', '--port', '8080', '-t', '2', '-c', '1024', '-np', '4', '--no-webui'],
      User: '10001:10001',
      Env: ['HOME=/tmp', 'LD_LIBRARY_PATH=/opt/llama-rpc/bin'],
      Labels: { 'io.infernet.job': 'llama-server-1', 'io.infernet.node': 'node-1', 'io.infernet.template': 'llama-server@1', 'io.infernet.role': 'server' },
      ExposedPorts: { '8080/tcp': {} },
      HostConfig: {
        ReadonlyRootfs: true,
        Tmpfs: { '/tmp': `rw,noexec,nosuid,nodev,size=${16 * 2 ** 20}` },
        CapDrop: ['ALL'],
        SecurityOpt: ['no-new-privileges'],
        Memory: 2 ** 30,
        MemorySwap: 2 ** 30,
        NanoCpus: 2e9,
        PidsLimit: 64,
        Init: true,
        NetworkMode: 'infernet-llama-node-1',
        Mounts: [
          { Type: 'bind', Source: '/cache/llama-rpc/build/bin', Target: '/opt/llama-rpc/bin', ReadOnly: true },
          { Type: 'bind', Source: '/lib/x86_64-linux-gnu/libgomp.so.1', Target: '/lib/x86_64-linux-gnu/libgomp.so.1', ReadOnly: true },
          { Type: 'bind', Source: '/models/tiny.gguf', Target: '/models/model.gguf', ReadOnly: true },
        ],
      },
    });
  });
  it('requests the GPU it is given', () => {
    assert.deepEqual(llamaServerContainerSpec({ ...params, gpus: { deviceIds: ['GPU-1'] } }).HostConfig?.DeviceRequests, [gpu({ DeviceIDs: ['GPU-1'] })]);
  });
  it('refuses a relative model path', () => {
    assert.throws(() => llamaServerContainerSpec({ ...params, modelHostPath: 'tiny.gguf' }), ExecutionTemplateError);
  });
});
