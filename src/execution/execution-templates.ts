// How each engine is run in a container, as versioned data and pure functions from a job's parameters to the
// exact dockerode create options. A template version never changes once released: a new behaviour is a new
// version, so a provider can say which one ran a job and two runs of the same version are comparable.
import { isAbsolute, posix } from 'node:path';
import type { ContainerCreateOptions, DeviceRequest, HostConfig } from 'dockerode';
import { InfernetError } from '../errors/index.js';

export type ExecutionTemplateVersion = 1;
export const CURRENT_EXECUTION_TEMPLATE_VERSION: ExecutionTemplateVersion = 1;
export type ExecutionTemplateName = 'llama.cpp' | 'llama.cpp-engine' | 'vllm' | 'vllm-ray' | 'llama.cpp-rpc' | 'llama-server';

/** Labels on every container Infernet creates: reapOrphanContainers finds a crashed daemon's leftovers by them. */
export const CONTAINER_LABELS = {
  job: 'io.infernet.job',
  node: 'io.infernet.node',
  template: 'io.infernet.template',
  role: 'io.infernet.role',
} as const;

export interface ContainerLimits {
  memoryBytes: number;
  /** Fractional CPUs, e.g. 1.5. */
  cpus: number;
  /** Processes and threads together (the kernel counts both). */
  pids: number;
  /** Size of the private writable /tmp. */
  tmpfsBytes: number;
}

/** GPUs for a container: a number of any GPUs, or the devices by index or UUID. */
export type GpuRequest = { count: number } | { deviceIds: string[] };

/** Who a container belongs to; both end up in its labels. */
export interface ContainerOwner {
  jobId: string;
  /** The daemon that created the container (its node id), which reaps it after a crash. */
  nodeId: string;
}

export class ExecutionTemplateError extends InfernetError {
  override readonly name = 'ExecutionTemplateError';
  constructor(
    readonly template: ExecutionTemplateName,
    message: string,
  ) {
    super('invalid_frame', `${template} template: ${message}`);
  }
}

// ---------------------------------------------------------------------------------------------------------------
// The released versions. Every value a spec holds comes from here or from the caller's parameters.

/** The sandbox every template starts from: no capabilities, no privilege gain, read-only root, init as PID 1. */
const SANDBOX_V1 = {
  capDrop: ['ALL'],
  securityOpt: ['no-new-privileges'],
  user: '10001:10001',
} as const;

const LLAMA_CPP_V1 = {
  command: ['/usr/local/bin/node', '/app/dist/src/execution/container-worker.js'],
  workingDir: '/app',
  /** The model file appears here inside the container, read-only. */
  modelPath: '/models/model.gguf',
  env: ['HOME=/tmp', 'NODE_ENV=production'],
  /** The worker writes nothing it needs to run: /tmp may forbid executables. */
  tmpfsOptions: 'rw,noexec,nosuid,nodev',
} as const;

/** The warm engine: the same sandbox and mounts as a job's container, a process that serves many jobs of one model. */
const LLAMA_CPP_ENGINE_V1 = {
  ...LLAMA_CPP_V1,
  command: ['/usr/local/bin/node', '/app/dist/src/execution/engine-worker.js'],
} as const;

const VLLM_V1 = {
  image: 'vllm/vllm-openai:v0.11.0',
  modelRoot: '/models',
  port: 8000,
  /** Caches (Hugging Face, vLLM, Triton, torch) all live under HOME on the tmpfs; nothing is downloaded. */
  env: ['HOME=/tmp', 'XDG_CACHE_HOME=/tmp/.cache', 'HF_HUB_OFFLINE=1', 'TRANSFORMERS_OFFLINE=1', 'VLLM_NO_USAGE_STATS=1', 'DO_NOT_TRACK=1'],
  /** Triton compiles kernels into /tmp and loads them, so this tmpfs must allow executables. */
  tmpfsOptions: 'rw,nosuid,nodev',
  /** NCCL passes tensors between the GPUs of one node through shared memory. */
  shmBytes: 8 * 2 ** 30,
} as const;

const VLLM_RAY_V1 = {
  ...VLLM_V1,
  rayPort: 6379,
  /** Started by the head: Ray's head, a wait until every GPU of the cluster has joined, then `vllm serve "$@"`. */
  headScript: [
    'set -euo pipefail',
    'ray start --head --node-ip-address="$VLLM_HOST_IP" --port="$INFERNET_RAY_PORT" --disable-usage-stats',
    'until python3 -c "import ray, sys; ray.init(address=\'auto\', logging_level=\'ERROR\'); sys.exit(0 if ray.cluster_resources().get(\'GPU\', 0) >= int(sys.argv[1]) else 1)" "$INFERNET_CLUSTER_GPUS"; do sleep 2; done',
    'exec vllm serve "$@"',
  ].join('\n'),
  workerScript: ['set -euo pipefail', 'exec ray start --block --address="$INFERNET_RAY_HEAD" --node-ip-address="$VLLM_HOST_IP" --disable-usage-stats'].join('\n'),
} as const;

const LLAMA_CPP_RPC_V1 = {
  /** The worker's port inside the container's own network namespace, where only its loopback exists. */
  port: 50052,
  /** Where the build's bin directory appears; its libraries are found through LD_LIBRARY_PATH, not the host's RPATH. */
  binPath: '/opt/llama-rpc/bin',
  env: ['HOME=/tmp', 'LD_LIBRARY_PATH=/opt/llama-rpc/bin'],
  tmpfsOptions: 'rw,noexec,nosuid,nodev',
  /** Run by `docker exec` for each tunnel: joins the exec's stdin/stdout to the worker's loopback port. */
  relayScript:
    "const s=require('node:net').connect(50052,'127.0.0.1');s.setNoDelay(true);process.stdin.pipe(s);s.pipe(process.stdout);" +
    "s.on('close',()=>process.exit(0));s.on('error',()=>process.exit(1));",
  /** Exit 0 once the worker accepts connections. */
  probeScript: "require('node:net').connect(50052,'127.0.0.1').on('connect',()=>process.exit(0)).on('error',()=>process.exit(1))",
  node: '/usr/local/bin/node',
} as const;

/** llama.cpp's own server (provider.engine llama-server): the RPC worker's build and sandbox, serving HTTP. */
const LLAMA_SERVER_V1 = {
  binPath: LLAMA_CPP_RPC_V1.binPath,
  env: LLAMA_CPP_RPC_V1.env,
  tmpfsOptions: LLAMA_CPP_RPC_V1.tmpfsOptions,
  /** The model file appears here inside the container, read-only. */
  modelPath: '/models/model.gguf',
  /** The server's port on the container's address in an internal network: no route out, only the provider in. */
  port: 8080,
} as const;

const TEMPLATES = {
  'llama.cpp': { 1: LLAMA_CPP_V1 },
  'llama-server': { 1: LLAMA_SERVER_V1 },
  'llama.cpp-engine': { 1: LLAMA_CPP_ENGINE_V1 },
  'llama.cpp-rpc': { 1: LLAMA_CPP_RPC_V1 },
  vllm: { 1: VLLM_V1 },
  'vllm-ray': { 1: VLLM_RAY_V1 },
} as const;

function released<N extends ExecutionTemplateName>(name: N, version: number): (typeof TEMPLATES)[N][ExecutionTemplateVersion] {
  const template = (TEMPLATES[name] as Record<number, (typeof TEMPLATES)[N][ExecutionTemplateVersion]>)[version];
  if (!template) throw new ExecutionTemplateError(name, `version ${version} does not exist (known: ${Object.keys(TEMPLATES[name]).join(', ')})`);
  return template;
}

// ---------------------------------------------------------------------------------------------------------------
// llama.cpp: one container per job, the worker reading its request on stdin, no network at all.

export interface LlamaCppTemplateParams {
  version: ExecutionTemplateVersion;
  image: string;
  owner: ContainerOwner;
  /** Absolute path of the GGUF file on the host. */
  modelHostPath: string;
  limits: ContainerLimits;
  /** At most one GPU. */
  gpus?: GpuRequest;
}

export function llamaCppContainerSpec(params: LlamaCppTemplateParams): ContainerCreateOptions {
  return llamaCppSandboxSpec('llama.cpp', 'job', params);
}

// ---------------------------------------------------------------------------------------------------------------
// llama.cpp as a warm engine: one long-lived container per model, jobs multiplexed over its stdin and stdout
// (engine-worker-protocol.ts). Stdin stays open for as long as the engine lives.

/** As for a job's container; owner.jobId names the engine (e.g. `engine-<model hash>`), since it outlives any one job. */
export type LlamaCppEngineTemplateParams = LlamaCppTemplateParams;

export function llamaCppEngineContainerSpec(params: LlamaCppEngineTemplateParams): ContainerCreateOptions {
  return llamaCppSandboxSpec('llama.cpp-engine', 'engine', params);
}

/** The one sandbox both llama.cpp templates share: no network, the model read-only, at most one GPU, stdin attached. */
function llamaCppSandboxSpec(name: 'llama.cpp' | 'llama.cpp-engine', role: 'job' | 'engine', params: LlamaCppTemplateParams): ContainerCreateOptions {
  const template = released(name, params.version);
  requireAbsolute(name, params.modelHostPath);
  if (params.gpus && gpuCount(params.gpus) > 1) throw new ExecutionTemplateError(name, 'runs on the CPU or on one GPU');
  return {
    Image: params.image,
    Cmd: [...template.command],
    User: SANDBOX_V1.user,
    WorkingDir: template.workingDir,
    Env: [...template.env],
    Labels: labels(params.owner, name, params.version, role),
    AttachStdin: true,
    AttachStdout: true,
    AttachStderr: true,
    OpenStdin: true,
    StdinOnce: true,
    Tty: false,
    NetworkDisabled: true,
    HostConfig: {
      ...sandboxHostConfig(params.limits, template.tmpfsOptions),
      NetworkMode: 'none',
      Mounts: [{ Type: 'bind', Source: params.modelHostPath, Target: template.modelPath, ReadOnly: true }],
      ...(params.gpus ? { DeviceRequests: [deviceRequest(params.gpus)] } : {}),
    },
  };
}

/** The model's path inside a llama.cpp container of this version. */
export function llamaCppContainerModelPath(version: ExecutionTemplateVersion): string {
  return released('llama.cpp', version).modelPath;
}

// ---------------------------------------------------------------------------------------------------------------
// llama.cpp's RPC worker for one stage of a split model: no network at all, not even a bridge. The provider
// reaches the worker's loopback port only through `docker exec` of the version's relay (see
// llamaCppRpcRelayCommand), one per tunnel, so nothing outside the container can open the unauthenticated port.

export interface LlamaCppRpcTemplateParams {
  version: ExecutionTemplateVersion;
  /** An image with node at /usr/local/bin/node for the relay: the runtime image. */
  image: string;
  owner: ContainerOwner;
  /** The llama.cpp build's bin directory on the host, mounted read-only. */
  binHostDir: string;
  /** Shared libraries the worker needs beyond the image's (from ldd), each mounted read-only at its own path. */
  libraryHostPaths?: readonly string[];
  threads: number;
  limits: ContainerLimits;
  gpus?: GpuRequest;
}

export function llamaCppRpcContainerSpec(params: LlamaCppRpcTemplateParams): ContainerCreateOptions {
  const template = released('llama.cpp-rpc', params.version);
  requireAbsolute('llama.cpp-rpc', params.binHostDir);
  for (const library of params.libraryHostPaths ?? []) requireAbsolute('llama.cpp-rpc', library);
  requirePositiveInteger('llama.cpp-rpc', 'threads', params.threads);
  return {
    Image: params.image,
    Cmd: [posix.join(template.binPath, 'ggml-rpc-server'), '-H', '127.0.0.1', '-p', String(template.port), '-t', String(params.threads)],
    User: SANDBOX_V1.user,
    Env: [...template.env],
    Labels: labels(params.owner, 'llama.cpp-rpc', params.version, 'rpc-worker'),
    NetworkDisabled: true,
    HostConfig: {
      ...sandboxHostConfig(params.limits, template.tmpfsOptions),
      NetworkMode: 'none',
      AutoRemove: true,
      Mounts: [
        { Type: 'bind', Source: params.binHostDir, Target: template.binPath, ReadOnly: true },
        ...(params.libraryHostPaths ?? []).map((path) => ({ Type: 'bind' as const, Source: path, Target: path, ReadOnly: true })),
      ],
      ...(params.gpus ? { DeviceRequests: [deviceRequest(params.gpus)] } : {}),
    },
  };
}

/** The command `docker exec` runs per tunnel in a worker container of this version: stdin/stdout become the RPC stream. */
export function llamaCppRpcRelayCommand(version: ExecutionTemplateVersion): string[] {
  const template = released('llama.cpp-rpc', version);
  return [template.node, '-e', template.relayScript];
}

/** The command that exits 0 once the worker in a container of this version accepts connections. */
export function llamaCppRpcProbeCommand(version: ExecutionTemplateVersion): string[] {
  const template = released('llama.cpp-rpc', version);
  return [template.node, '-e', template.probeScript];
}

export interface LlamaServerTemplateParams {
  version: ExecutionTemplateVersion;
  image: string;
  owner: ContainerOwner;
  /** The llama.cpp build's bin directory on the host (scripts/build-llama-rpc.sh), mounted read-only. */
  binHostDir: string;
  /** Shared libraries the binaries load from outside binHostDir (ldd), each mounted read-only at its own path. */
  libraryHostPaths?: readonly string[];
  modelHostPath: string;
  /** llama-server's arguments after the template's model, host and port: threads, context, slots. */
  servingArguments: readonly string[];
  /** An internal Docker network (created with `Internal: true`, so it has no route out). */
  network: string;
  limits: ContainerLimits;
  gpus?: GpuRequest;
}

/** One model's llama-server in the sandbox, reached by the provider at the container's address on `network`. */
export function llamaServerContainerSpec(params: LlamaServerTemplateParams): ContainerCreateOptions {
  const template = released('llama-server', params.version);
  requireAbsolute('llama-server', params.binHostDir);
  requireAbsolute('llama-server', params.modelHostPath);
  for (const library of params.libraryHostPaths ?? []) requireAbsolute('llama-server', library);
  return {
    Image: params.image,
    Cmd: [posix.join(template.binPath, 'llama-server'), '-m', template.modelPath, '--host', '0.0.0.0', '--port', String(template.port), ...params.servingArguments],
    User: SANDBOX_V1.user,
    Env: [...template.env],
    Labels: labels(params.owner, 'llama-server', params.version, 'server'),
    ExposedPorts: { [`${template.port}/tcp`]: {} },
    HostConfig: {
      ...sandboxHostConfig(params.limits, template.tmpfsOptions),
      NetworkMode: params.network,
      Mounts: [
        { Type: 'bind', Source: params.binHostDir, Target: template.binPath, ReadOnly: true },
        ...(params.libraryHostPaths ?? []).map((path) => ({ Type: 'bind' as const, Source: path, Target: path, ReadOnly: true })),
        { Type: 'bind', Source: params.modelHostPath, Target: template.modelPath, ReadOnly: true },
      ],
      ...(params.gpus ? { DeviceRequests: [deviceRequest(params.gpus)] } : {}),
    },
  };
}

/** The port a llama-server container of this version listens on. */
export function llamaServerContainerPort(version: ExecutionTemplateVersion): number {
  return released('llama-server', version).port;
}

// ---------------------------------------------------------------------------------------------------------------
// vLLM on one node: a long-lived OpenAI-compatible server, tensor parallel over the node's GPUs, on an internal
// Docker network (created with `Internal: true`, so it has no route out) where only the provider reaches it.

export interface VllmModel {
  /** Absolute path of the model folder (Hugging Face layout) on the host. */
  hostPath: string;
  /** The name clients ask for; also the folder name inside the container. */
  servedName: string;
  maxModelLength?: number;
}

export interface VllmTemplateParams {
  version: ExecutionTemplateVersion;
  /** Defaults to the version's pinned vLLM image. */
  image?: string;
  owner: ContainerOwner;
  model: VllmModel;
  tensorParallelSize: number;
  gpus: GpuRequest;
  /** Name of an internal Docker network. */
  network: string;
  limits: ContainerLimits;
}

export function vllmContainerSpec(params: VllmTemplateParams): ContainerCreateOptions {
  const template = released('vllm', params.version);
  requireAbsolute('vllm', params.model.hostPath);
  requirePositiveInteger('vllm', 'tensorParallelSize', params.tensorParallelSize);
  if (gpuCount(params.gpus) !== params.tensorParallelSize) {
    throw new ExecutionTemplateError('vllm', `tensor parallel size ${params.tensorParallelSize} needs as many GPUs, got ${gpuCount(params.gpus)}`);
  }
  const modelPath = vllmModelPath(template.modelRoot, params.model.servedName);
  return {
    Image: params.image ?? template.image,
    Entrypoint: ['vllm', 'serve'],
    Cmd: [modelPath, ...vllmServeArgs('0.0.0.0', template.port, params.model, { tensor: params.tensorParallelSize })],
    User: SANDBOX_V1.user,
    Env: [...template.env],
    Labels: labels(params.owner, 'vllm', params.version, 'server'),
    ExposedPorts: { [`${template.port}/tcp`]: {} },
    HostConfig: {
      ...sandboxHostConfig(params.limits, template.tmpfsOptions),
      NetworkMode: params.network,
      ShmSize: template.shmBytes,
      Mounts: [{ Type: 'bind', Source: params.model.hostPath, Target: modelPath, ReadOnly: true }],
      DeviceRequests: [deviceRequest(params.gpus)],
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// vLLM across nodes: a Ray head and workers on the hosts' own network (NCCL and Ray need the interconnect's
// interfaces and, for InfiniBand, its devices), pipeline parallel across nodes and tensor parallel within each.
// The model sits at the same path on every node (a shared or replicated filesystem), mounted read-only there.

export interface ClusterMember {
  nodeId: string;
  /** This node's address on the interconnect; Ray, NCCL and vLLM bind to it. */
  address: string;
  gpus: GpuRequest;
}

export interface Interconnect {
  /** The interface NCCL and Gloo open their sockets on, e.g. `eth1` or `ib0`. */
  socketInterface: string;
  /** Gloo's interface when it differs from NCCL's. */
  glooSocketInterface?: string;
  /** InfiniBand adapters NCCL may use, e.g. `mlx5_0`; none means sockets only. */
  ibHcas?: string[];
  /** NCCL_IB_GID_INDEX, for RoCE v2. */
  ibGidIndex?: number;
  /** Ray's head port instead of the template's. */
  rayPort?: number;
}

/** The config's `interconnect` section as the templates take it (validated by src/config). */
export function interconnectFromConfig(section: { socketInterface: string; glooSocketInterface?: string | undefined; ibHcas?: string[] | undefined; ibGidIndex?: number | undefined; rayPort?: number | undefined }): Interconnect {
  return {
    socketInterface: section.socketInterface,
    ...(section.glooSocketInterface ? { glooSocketInterface: section.glooSocketInterface } : {}),
    ...(section.ibHcas?.length ? { ibHcas: [...section.ibHcas] } : {}),
    ...(section.ibGidIndex !== undefined ? { ibGidIndex: section.ibGidIndex } : {}),
    ...(section.rayPort !== undefined ? { rayPort: section.rayPort } : {}),
  };
}

/** vLLM's parallel sizes from the planner's plan: tensor inside a node, pipeline across nodes. */
export function vllmParallelismOf(plan: { tensorParallelSize: number; pipelineParallelSize: number }): { tensorParallelSize: number; pipelineParallelSize: number } {
  return { tensorParallelSize: plan.tensorParallelSize, pipelineParallelSize: plan.pipelineParallelSize };
}

export interface VllmRayTemplateParams {
  version: ExecutionTemplateVersion;
  image?: string;
  jobId: string;
  model: VllmModel;
  tensorParallelSize: number;
  pipelineParallelSize: number;
  head: ClusterMember;
  workers: ClusterMember[];
  interconnect: Interconnect;
  limits: ContainerLimits;
}

export interface VllmRayContainerSpecs {
  head: ContainerCreateOptions;
  /** In the order of `workers`; each is created by that member's own daemon. */
  workers: ContainerCreateOptions[];
}

export function vllmRayContainerSpecs(params: VllmRayTemplateParams): VllmRayContainerSpecs {
  const template = released('vllm-ray', params.version);
  requireAbsolute('vllm-ray', params.model.hostPath);
  requirePositiveInteger('vllm-ray', 'tensorParallelSize', params.tensorParallelSize);
  requirePositiveInteger('vllm-ray', 'pipelineParallelSize', params.pipelineParallelSize);
  const members = [params.head, ...params.workers];
  const clusterGpus = members.reduce((sum, member) => sum + gpuCount(member.gpus), 0);
  if (params.tensorParallelSize * params.pipelineParallelSize !== clusterGpus) {
    throw new ExecutionTemplateError(
      'vllm-ray',
      `tensor parallel ${params.tensorParallelSize} x pipeline parallel ${params.pipelineParallelSize} must equal the cluster's ${clusterGpus} GPUs`,
    );
  }
  requireServedName('vllm-ray', params.model.servedName);
  const modelPath = params.model.hostPath;
  const rayPort = params.interconnect.rayPort ?? template.rayPort;
  const rayHead = `${params.head.address}:${rayPort}`;
  const member = (who: ClusterMember, role: 'head' | 'worker', script: string, args: string[]): ContainerCreateOptions => ({
    Image: params.image ?? template.image,
    Entrypoint: ['/bin/bash'],
    Cmd: ['-c', script, `infernet-vllm-${role}`, ...args],
    User: SANDBOX_V1.user,
    Env: [
      ...template.env,
      `VLLM_HOST_IP=${who.address}`,
      `NCCL_SOCKET_IFNAME=${params.interconnect.socketInterface}`,
      `GLOO_SOCKET_IFNAME=${params.interconnect.glooSocketInterface ?? params.interconnect.socketInterface}`,
      ...(params.interconnect.ibHcas?.length ? [`NCCL_IB_HCA=${params.interconnect.ibHcas.join(',')}`] : ['NCCL_IB_DISABLE=1']),
      ...(params.interconnect.ibHcas?.length && params.interconnect.ibGidIndex !== undefined ? [`NCCL_IB_GID_INDEX=${params.interconnect.ibGidIndex}`] : []),
      `INFERNET_RAY_PORT=${rayPort}`,
      `INFERNET_RAY_HEAD=${rayHead}`,
      `INFERNET_CLUSTER_GPUS=${clusterGpus}`,
    ],
    Labels: labels({ jobId: params.jobId, nodeId: who.nodeId }, 'vllm-ray', params.version, role),
    HostConfig: {
      ...sandboxHostConfig(params.limits, template.tmpfsOptions),
      NetworkMode: 'host',
      ShmSize: template.shmBytes,
      Mounts: [{ Type: 'bind', Source: modelPath, Target: modelPath, ReadOnly: true }],
      DeviceRequests: [deviceRequest(who.gpus)],
      // RDMA pins memory and needs the adapters' device files.
      ...(params.interconnect.ibHcas?.length
        ? {
            CapAdd: ['IPC_LOCK'],
            Ulimits: [{ Name: 'memlock', Soft: -1, Hard: -1 }],
            Devices: [{ PathOnHost: '/dev/infiniband', PathInContainer: '/dev/infiniband', CgroupPermissions: 'rwm' }],
          }
        : {}),
    },
  });
  const serveArgs = [
    modelPath,
    // On the host's network: only the provider on the head node reaches the server.
    ...vllmServeArgs('127.0.0.1', template.port, params.model, { tensor: params.tensorParallelSize, pipeline: params.pipelineParallelSize }),
    '--distributed-executor-backend',
    'ray',
  ];
  return {
    head: member(params.head, 'head', template.headScript, serveArgs),
    workers: params.workers.map((worker) => member(worker, 'worker', template.workerScript, [])),
  };
}

// ---------------------------------------------------------------------------------------------------------------

function sandboxHostConfig(limits: ContainerLimits, tmpfsOptions: string): HostConfig {
  return {
    ReadonlyRootfs: true,
    Tmpfs: { '/tmp': `${tmpfsOptions},size=${limits.tmpfsBytes}` },
    CapDrop: [...SANDBOX_V1.capDrop],
    SecurityOpt: [...SANDBOX_V1.securityOpt],
    Memory: limits.memoryBytes,
    // Equal to Memory: no swap, so a job over its limit is killed rather than slowed down.
    MemorySwap: limits.memoryBytes,
    NanoCpus: Math.round(limits.cpus * 1e9),
    PidsLimit: limits.pids,
    // Node and Python as PID 1 ignore SIGTERM; an init forwards signals and reaps children.
    Init: true,
  };
}

function labels(owner: ContainerOwner, template: ExecutionTemplateName, version: ExecutionTemplateVersion, role: string): Record<string, string> {
  return {
    [CONTAINER_LABELS.job]: owner.jobId,
    [CONTAINER_LABELS.node]: owner.nodeId,
    [CONTAINER_LABELS.template]: `${template}@${version}`,
    [CONTAINER_LABELS.role]: role,
  };
}

function deviceRequest(gpus: GpuRequest): DeviceRequest {
  return 'count' in gpus
    ? { Driver: 'nvidia', Count: gpus.count, Capabilities: [['gpu']] }
    : { Driver: 'nvidia', DeviceIDs: [...gpus.deviceIds], Capabilities: [['gpu']] };
}

function gpuCount(gpus: GpuRequest): number {
  return 'count' in gpus ? gpus.count : gpus.deviceIds.length;
}

function vllmModelPath(root: string, servedName: string): string {
  requireServedName('vllm', servedName);
  return posix.join(root, servedName);
}

function requireServedName(template: ExecutionTemplateName, servedName: string): void {
  if (!/^[A-Za-z0-9._-]+$/.test(servedName) || servedName.startsWith('.')) {
    throw new ExecutionTemplateError(template, `served model name ${JSON.stringify(servedName)} must be letters, digits, ., _ and -`);
  }
}

function vllmServeArgs(host: string, port: number, model: VllmModel, parallel: { tensor: number; pipeline?: number }): string[] {
  return [
    '--served-model-name',
    model.servedName,
    '--host',
    host,
    '--port',
    String(port),
    '--tensor-parallel-size',
    String(parallel.tensor),
    ...(parallel.pipeline !== undefined ? ['--pipeline-parallel-size', String(parallel.pipeline)] : []),
    ...(model.maxModelLength !== undefined ? ['--max-model-len', String(model.maxModelLength)] : []),
  ];
}

function requireAbsolute(template: ExecutionTemplateName, path: string): void {
  if (!isAbsolute(path)) throw new ExecutionTemplateError(template, `model path ${path} must be absolute`);
}

function requirePositiveInteger(template: ExecutionTemplateName, name: string, value: number): void {
  if (!Number.isInteger(value) || value < 1) throw new ExecutionTemplateError(template, `${name} must be a positive integer, got ${value}`);
}
