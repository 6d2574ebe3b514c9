// The node's configuration file (config.yaml or config.json in the node home), validated field by field.
import { z } from 'zod';
import { InfernetError } from '../errors/index.js';
import { NodeRole, Price } from '../protocol/index.js';
import { PaymentsConfig } from './payments-config.js';
import { ReputationConfig, VerificationConfig } from './reputation-config.js';
import { DistributedConfig, InterconnectConfig } from './distributed-config.js';
import { MobileConfig } from './mobile-config.js';

const WsUrl = z.string().regex(/^wss?:\/\/[^\s]+$/, 'must be a ws:// or wss:// URL');

export const TransportLimits = z
  .object({
    maxFrameBytes: z.number().int().min(1024).max(64 * 1024 * 1024).default(1024 * 1024),
    framesPerSecond: z.number().int().min(1).default(100),
    frameBurst: z.number().int().min(1).default(400),
    idleTimeoutMs: z.number().int().min(1000).default(30_000),
    heartbeatIntervalMs: z.number().int().min(100).default(10_000),
    handshakeTimeoutMs: z.number().int().min(100).default(10_000),
    maxConnections: z.number().int().min(1).default(1024),
  })
  .strict();
export type TransportLimits = z.infer<typeof TransportLimits>;

/**
 * The vLLM engine's settings (provider.engine: vllm). `models` are then what vLLM loads, as files the catalog hashes (a
 * GGUF, its tokenizer named in extraArgs); Hugging Face model folders wait for the catalog to take folders.
 */
export const VllmConfig = z
  .object({
    /** With sandbox: none, the program run with the model and serve arguments after it. */
    command: z.array(z.string().min(1)).min(1).default(['vllm', 'serve']),
    /** With sandbox: docker, the image of the `vllm` execution template (its pinned vllm/vllm-openai when absent). */
    image: z.string().min(1).optional(),
    /** vLLM's --gpu-memory-utilization: the share of the GPU's memory its weights and KV cache may take. */
    gpuMemoryUtilization: z.number().gt(0).max(1).default(0.9),
    /** vLLM's --max-model-len; absent: the model's own context length. */
    maxModelLength: z.number().int().min(64).optional(),
    /** Passed to `vllm serve` after the arguments Infernet sets. */
    extraArgs: z.array(z.string()).default([]),
    /** Loading and compiling a large model takes minutes: a server not ready by then is stopped and retried. */
    startTimeoutSeconds: z.number().int().min(1).default(900),
    /** Memory limit of the vLLM container (sandbox: docker). */
    containerMemoryMb: z.number().int().min(1024).default(32768),
  })
  .strict();
export type VllmConfig = z.infer<typeof VllmConfig>;

export const NodeConfig = z
  .object({
    role: NodeRole.default('all'),
    listen: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(0).max(65535).default(7420),
      })
      .strict()
      .prefault({}),
    /** Peers to dial until discovery exists: a client its aggregators, an aggregator its providers. */
    connect: z.array(WsUrl).default([]),
    /** GGUF files this node serves as a provider. */
    models: z.array(z.string().min(1)).default([]),
    provider: z
      .object({
        slots: z.number().int().min(1).max(256).default(1),
        /** Decoding threads per job; 1 decodes fastest on small CPU models (see the benchmarks). */
        threads: z.number().int().min(1).max(256).default(1),
        /**
         * engine llama-server: threads for steps of several tokens (prompts, and jobs decoded together); `threads`
         * when absent. node-llama-cpp (engine llama.cpp) has one count for both.
         */
        batchThreads: z.number().int().min(1).max(256).optional(),
        contextSize: z.number().int().min(64).max(1_048_576).default(2048),
        /**
         * On a GPU: how many of each model's layers go to it. all (the default): every layer, and a model whose
         * weights and KV cache do not fit in free VRAM is refused at start-up with the count that would fit. A number
         * keeps the other layers and their KV cache in RAM (partial offload: slower, chosen on purpose, never by the
         * engine on its own); both shares are checked before loading.
         */
        gpuLayers: z.union([z.literal('all'), z.number().int().min(0).max(100_000)]).default('all'),
        price: Price.optional(),
        /**
         * docker: every job runs in a sandboxed container, and jobs are refused while no Docker engine answers.
         * none: jobs run in-process without a sandbox; only for models and prompts the operator trusts.
         */
        sandbox: z.enum(['docker', 'none']).default('docker'),
        /** Memory limit of one job's container. */
        containerMemoryMb: z.number().int().min(64).default(4096),
        /** A runtime image to use instead of the one built from this checkout. */
        runtimeImage: z.string().min(1).optional(),
        /** The largest model fetched by content id for a paid job (bytes): a bigger one is refused before its download. */
        maxModelFetchBytes: z.number().int().min(1).default(64 * 2 ** 30),
        /** A model's warm engine with no job for this long is unloaded; its next job loads it again. */
        engineIdleSeconds: z.number().int().min(1).default(600),
        /**
         * llama.cpp: the warm engine (or in-process). llama-server: llama.cpp's own server, built by
         * scripts/build-llama-rpc.sh, one per model with `slots` jobs decoded together (sandbox none only, for now).
         * vllm: each model served by a supervised vLLM OpenAI server.
         */
        engine: z.enum(['llama.cpp', 'llama-server', 'vllm']).default('llama.cpp'),
        vllm: VllmConfig.prefault({}),
      })
      .strict()
      .prefault({}),
    limits: TransportLimits.prefault({}),
    discovery: z
      .object({
        /** Join the libp2p DHT and gossip: providers announce themselves, aggregators find them. */
        enabled: z.boolean().default(false),
        /** libp2p listen multiaddrs; loopback by default, like the job listener. */
        listen: z.array(z.string().startsWith('/')).default(['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws']),
        /** Multiaddrs to announce instead of the listening ones (a public address behind a port forward). */
        announce: z.array(z.string().startsWith('/')).optional(),
        /** Bootstrap peers, each ending in /p2p/<peer id>. */
        bootstrap: z.array(z.string().regex(/\/p2p\/\w+$/, 'must end in /p2p/<peer id>')).default([]),
        /** Address prefixes exempt from per-host connection limits, e.g. /ip4/127.0.0.1 for many nodes on one host. */
        allow: z.array(z.string().startsWith('/')).default([]),
        /** NAT traversal (see src/nat): relay service on public nodes, relay reservations and hole punching behind NAT. */
        nat: z
          .object({
            /** auto: AutoNAT and relay reservations decide; private: always announce the relayed job endpoint; public: never. */
            reachability: z.enum(['auto', 'public', 'private']).default('auto'),
            /** Offer circuit relay v2 service to others (turn on for nodes with a public address). */
            relayServer: z.boolean().default(false),
            /** Relay limits: reservations held at once, per-peer reservation requests per minute, and per circuit. */
            maxReservations: z.number().int().min(1).max(10_000).default(64),
            reservationsPerPeerPerMinute: z.number().int().min(1).max(1000).default(6),
            circuitsPerPeerPerMinute: z.number().int().min(1).max(10_000).default(30),
            circuitDurationS: z.number().int().min(1).max(86_400).default(600),
            circuitBytes: z.number().int().min(1024).max(2 ** 40).default(256 * 1024 * 1024),
            /** Reserve a slot on relays, so peers can reach this node through them (never on a relay; unset: not on loopback-only nodes). */
            relayClient: z.boolean().optional(),
            /** Try DCUtR to replace a relayed connection by a direct one. */
            holePunch: z.boolean().default(true),
            /** WebRTC over UDP, signalled through a relay: punches through NATs where TCP from Node cannot (unset: off on loopback-only nodes). */
            webrtc: z.boolean().optional(),
            /** STUN servers (stun:host:port) for WebRTC; unset: the bootstrap peers' IPs on port 3478, which relays serve. */
            stunServers: z.array(z.string().startsWith('stun:')).optional(),
            /** On a relay: the UDP port of its STUN server (0: none). */
            stunPort: z.number().int().min(0).max(65_535).default(3478),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    storage: z
      .object({
        /** pocketbase: the node's own PocketBase (built from backend/), or the one at `url`. file: a JSON-lines file. */
        backend: z.enum(['pocketbase', 'file']).default('pocketbase'),
        /** An external PocketBase instead of the child process; its superuser is read from the node home. */
        url: z.string().regex(/^https?:\/\/\S+$/, 'must be an http:// or https:// URL').optional(),
      })
      .strict()
      .prefault({}),
    /** The OpenAI-compatible HTTP API, served by roles with a client side (client, all) when a port is set. */
    api: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        /** null: no API. 0: any free port (the daemon writes the address to daemon.json). */
        port: z.number().int().min(0).max(65535).nullable().default(null),
        /** Hashes of the API keys (`infernet apikey create`); relative to the node home. Default api-keys.json. */
        keysFile: z.string().min(1).optional(),
      })
      .strict()
      .prefault({}),
    /** Models split across providers, and the stages this provider runs for heads (src/distributed). */
    distributed: DistributedConfig.prefault({}),
    /** Network settings of cross-node engines (NCCL, Gloo, Ray) passed to the execution templates. */
    interconnect: InterconnectConfig.optional(),
    /** Escrow and Lightning payments (src/payments); absent: this node neither pays nor is paid. */
    payments: PaymentsConfig.optional(),
    /** Nostr relays and trusted raters for provider reputation (src/reputation). */
    reputation: ReputationConfig.prefault({}),
    /** Verification defaults (src/verification). */
    verification: VerificationConfig.prefault({}),
    aggregator: z
      .object({
        /**
         * How long a match waits for the client's offer (its payment included) before it is given up and the
         * provider's slot freed: a client that asks and never offers must not hold slots until its deadline.
         */
        offerWaitSeconds: z.number().int().min(1).max(3600).default(120),
      })
      .strict()
      .prefault({}),
    /** Push notifications to paired phones (src/grants, `infernet pair`). */
    mobile: MobileConfig.prefault({}),
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
      .strict()
      .prefault({}),
  })
  .strict();
export type NodeConfig = z.infer<typeof NodeConfig>;
export type NodeConfigInput = z.input<typeof NodeConfig>;

/**
 * The node's config file is missing, unreadable or invalid. No wire code names a bad config: it is the operator's to
 * fix, and to any peer or HTTP client this node cannot serve because of it, it is this node's own fault (internal,
 * 500), never the request's (the 4xx codes would tell the client to change its request). The CLI shows the message
 * as it is and exits 1, like the other files a node reads at start (KeyFileError, WalletConfigError).
 */
export class ConfigError extends InfernetError {
  override readonly name = 'ConfigError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('internal', message, options);
  }
}

/** Validates parsed config data; the error names the file, the field path and the problem. */
export function validateNodeConfig(data: unknown, source: string): NodeConfig {
  const result = NodeConfig.safeParse(data ?? {});
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => `${issue.path.length ? issue.path.join('.') : '(root)'}: ${issue.message}`);
  throw new ConfigError(`${source}: ${problems.join('; ')}`);
}

export function rolesOf(role: NodeRole): { provider: boolean; aggregator: boolean } {
  return { provider: role === 'provider' || role === 'all', aggregator: role === 'aggregator' || role === 'all' };
}
