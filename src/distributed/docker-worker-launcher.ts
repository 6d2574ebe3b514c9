// RPC workers in Docker, the provider's default sandbox: each stage's ggml-rpc-server in a container with no
// network, read-only root and the sandbox's limits; each tunnel reaches it through `docker exec` of a relay
// inside the container, so the unauthenticated port exists only in the container's own loopback.
// With a tensor cache, the provider's cache folder is mounted read-only: entries pre-filled from models the
// provider holds are served to heads, while a container can never write into the host's folder (uploads of
// tensors not pre-filled are then simply not kept).
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { Duplex, PassThrough } from 'node:stream';
import type Docker from 'dockerode';
import type { ContainerCreateOptions } from 'dockerode';
import { CURRENT_EXECUTION_TEMPLATE_VERSION, llamaCppRpcContainerSpec, llamaCppRpcProbeCommand, llamaCppRpcRelayCommand, type ContainerLimits } from '../execution/index.js';
import { startEngineProcess, stopEngineProcess } from './engine-process.js';
import type { LaunchedWorker, RpcWorkerLauncher } from './rpc-worker.js';

export interface DockerWorkerLauncherParameters {
  docker: Docker;
  /** The runtime image (it has node for the relay). */
  image: string;
  binDir: string;
  /** This daemon's node id, labelled on every container for reaping after a crash. */
  nodeId: string;
  limits: ContainerLimits;
  /** The host folder used as the workers' LLAMA_CACHE, mounted read-only (its rpc/ folder holds the entries). */
  tensorCacheDir?: string;
}

/** Where a worker container sees the provider's tensor cache. */
export const CONTAINER_TENSOR_CACHE_DIR = '/infernet/rpc-cache';

/** A worker's container spec with the host's tensor cache mounted read-only and the worker told to use it. Pure. */
export function withReadOnlyTensorCache(spec: ContainerCreateOptions, hostDir: string): ContainerCreateOptions {
  return {
    ...spec,
    Cmd: [...(spec.Cmd ?? []), '-c'],
    Env: [...(spec.Env ?? []), `LLAMA_CACHE=${CONTAINER_TENSOR_CACHE_DIR}`],
    HostConfig: { ...spec.HostConfig, Mounts: [...(spec.HostConfig?.Mounts ?? []), { Type: 'bind', Source: hostDir, Target: CONTAINER_TENSOR_CACHE_DIR, ReadOnly: true }] },
  };
}

export function dockerWorkerLauncher(params: DockerWorkerLauncherParameters): RpcWorkerLauncher {
  const libraries = sharedLibrariesOf(`${params.binDir}/ggml-rpc-server`, params.binDir);
  const version = CURRENT_EXECUTION_TEMPLATE_VERSION;
  // The worker only reads the cache: its rpc/ folder must exist before it starts.
  if (params.tensorCacheDir) mkdirSync(join(params.tensorCacheDir, 'rpc'), { recursive: true });
  return {
    kind: 'docker',
    ...(params.tensorCacheDir ? { tensorCacheDir: params.tensorCacheDir } : {}),
    launch: async ({ threads, jobId }) => {
      const template = llamaCppRpcContainerSpec({ version, image: params.image, owner: { jobId: jobId ?? 'stage', nodeId: params.nodeId }, binHostDir: params.binDir, libraryHostPaths: libraries, threads, limits: params.limits });
      const spec = params.tensorCacheDir ? withReadOnlyTensorCache(template, params.tensorCacheDir) : template;
      const container = await params.docker.createContainer(spec);
      // The CLI attached to the container lives exactly as long as it, and keeps its output for errors.
      const process = startEngineProcess('docker', ['start', '-a', container.id]);
      const exec = async (cmd: string[]) => {
        const run = await container.exec({ Cmd: cmd, AttachStdin: true, AttachStdout: true, AttachStderr: true, User: '10001:10001' });
        return { run, stream: await run.start({ hijack: true, stdin: true }) };
      };
      const worker: LaunchedWorker = {
        process,
        ready: async () => {
          try {
            const { run, stream } = await exec(llamaCppRpcProbeCommand(version));
            stream.resume();
            await new Promise((resolve) => stream.once('end', resolve).once('close', resolve).once('error', resolve));
            return (await run.inspect()).ExitCode === 0;
          } catch {
            return false;
          }
        },
        connect: async () => {
          const { stream } = await exec(llamaCppRpcRelayCommand(version));
          const out = new PassThrough();
          params.docker.modem.demuxStream(stream, out, new PassThrough().resume());
          stream.once('end', () => out.end());
          return Duplex.from({ readable: out, writable: stream });
        },
        stop: async () => {
          await container.kill().catch(() => undefined);
          await stopEngineProcess(process);
        },
      };
      return worker;
    },
  };
}

/** Absolute paths of the shared libraries a binary loads from outside its own directory (ldd). */
export function sharedLibrariesOf(binary: string, ownDir: string): string[] {
  const output = execFileSync('ldd', [binary], { encoding: 'utf8' });
  return [...output.matchAll(/=>\s+(\/\S+)/g)].map((match) => match[1]!).filter((path) => !path.startsWith(`${ownDir}/`));
}
