// Config sections for splitting models across providers (src/distributed) and for the interconnect that
// cross-node engines use (NCCL and Gloo in the vLLM templates of src/execution).
import { z } from 'zod';

const WsUrl = z.string().regex(/^wss?:\/\/[^\s]+$/, 'must be a ws:// or wss:// URL');
/** An npub or 64 hex characters; checked for real by the node when it starts. */
const PublicKeyText = z.string().regex(/^(npub1[02-9ac-hj-np-z]{58}|[0-9a-f]{64})$/, 'must be an npub or a 64-character hex public key');
/** Linux interface names: up to 15 characters, no spaces or slashes. */
const InterfaceName = z.string().regex(/^[A-Za-z0-9_.:-]{1,15}$/, 'must be a network interface name such as eth0 or ib0');
/** An InfiniBand adapter, optionally with its port: mlx5_0 or mlx5_0:1. */
const HcaName = z.string().regex(/^[A-Za-z0-9_-]{1,32}(:\d{1,2})?$/, 'must be an adapter name such as mlx5_0 or mlx5_0:1');

export const DistributedWorkerConfig = z
  .object({
    /** The tunnel listener heads dial; loopback by default like the job listener. */
    host: z.string().min(1).default('127.0.0.1'),
    port: z.number().int().min(0).max(65535).default(7430),
    /**
     * Heads (npub or hex) allowed to open stages here; nobody else is answered. `any`: every head may, within the
     * limits below (an open worker, like an open provider).
     */
    heads: z.union([z.literal('any'), z.array(PublicKeyText).min(1, 'name at least one head allowed to open stages, or say any')]),
    /** Listed in discovery (when discovery is enabled), so heads can find these stages without being told the URL. */
    announce: z.boolean().default(true),
    /** The URL heads dial, when it is not ws://host:port (a port forwarded, a listener on 0.0.0.0). */
    publicUrl: WsUrl.optional(),
    /** docker: each stage's ggml-rpc-server runs in a container without network. none: as a plain child process. */
    sandbox: z.enum(['docker', 'none']).default('docker'),
    threads: z.number().int().min(1).max(256).default(1),
    /** Memory offered per stage, reported to heads for their split; free memory when absent. */
    memoryMb: z.number().int().min(1).optional(),
    maxStages: z.number().int().min(1).max(64).default(1),
    maxStageMinutes: z.number().int().min(1).max(7 * 24 * 60).default(60),
    maxStageGb: z.number().min(0.001).max(1024).default(64),
    /** Keep uploaded tensors in <home>/rpc-cache (llama.cpp's -c), so a head loading the same model again sends hashes, not weights. */
    tensorCache: z.boolean().default(false),
    /**
     * Model files this provider holds outside its content store, by content id: a head naming one of them gets its
     * stage's tensor cache pre-filled from the file (needs tensorCache), so no weights cross the network.
     */
    heldModels: z.array(z.object({ cid: z.string().min(1).max(200), path: z.string().min(1) }).strict()).optional(),
  })
  .strict();

export const DistributedModelConfig = z
  .object({
    /** A GGUF file this provider serves as the head of a split. */
    path: z.string().min(1),
    /**
     * Stage providers in pipeline order; those beyond stagesPerJob stand by for failover. `discover`: found for each
     * job through discovery (providers announcing stages open to this head), best ranked first.
     */
    workers: z.union([z.literal('discover'), z.array(z.object({ url: WsUrl, npub: PublicKeyText }).strict()).min(1)]),
    split: z.enum(['auto', 'layer', 'tensor']).default('auto'),
    /** Stages a job uses; all listed workers when absent, or 2 discovered ones. */
    stagesPerJob: z.number().int().min(1).max(64).optional(),
    workerThreads: z.number().int().min(1).max(256).optional(),
    /** Seconds the head and its stages stay loaded after a job for the next one; 0 closes them after every job. 300 when absent. */
    keepWarmSeconds: z.number().int().min(0).max(7 * 24 * 3600).optional(),
    /** The model's content id, named to the stages so providers holding the file pre-fill their tensor cache; looked up in the content store by path when absent. */
    cid: z.string().min(1).max(200).optional(),
  })
  .strict();

export const DistributedConfig = z
  .object({
    worker: DistributedWorkerConfig.optional(),
    models: z.array(DistributedModelConfig).default([]),
    /** A GPU build of llama.cpp (scripts/build-llama-rpc.sh with INFERNET_LLAMA_CMAKE_FLAGS); the CPU build when absent. */
    binDir: z.string().min(1).optional(),
  })
  .strict();
export type DistributedConfig = z.infer<typeof DistributedConfig>;

/** The interconnect for cross-node engines: which interface and adapters NCCL and Gloo use, and on which ports. */
export const InterconnectConfig = z
  .object({
    /** NCCL_SOCKET_IFNAME: the interface for NCCL's bootstrap and socket transport. */
    socketInterface: InterfaceName,
    /** GLOO_SOCKET_IFNAME; the socket interface when absent. */
    glooSocketInterface: InterfaceName.optional(),
    /** NCCL_IB_HCA: InfiniBand/RoCE adapters; none disables InfiniBand (NCCL_IB_DISABLE=1). */
    ibHcas: z.array(HcaName).max(32).default([]),
    /** NCCL_IB_GID_INDEX, for RoCE v2 (usually 3). */
    ibGidIndex: z.number().int().min(0).max(255).optional(),
    /** Ray's head port in the vLLM templates. */
    rayPort: z.number().int().min(1024).max(65535).optional(),
  })
  .strict();
export type InterconnectConfig = z.infer<typeof InterconnectConfig>;
