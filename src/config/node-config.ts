// The node's configuration file (config.yaml or config.json in the node home), validated field by field.
import { z } from 'zod';
import { NodeRole, Price } from '../protocol/index.js';

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
        contextSize: z.number().int().min(64).max(1_048_576).default(2048),
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
    log: z
      .object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') })
      .strict()
      .prefault({}),
  })
  .strict();
export type NodeConfig = z.infer<typeof NodeConfig>;
export type NodeConfigInput = z.input<typeof NodeConfig>;

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
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
