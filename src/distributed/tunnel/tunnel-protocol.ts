// The tunnel's own small protocol, on a connection of its own beside the job sessions: a mutual handshake in
// WebSocket text frames that proves both Nostr keys and agrees on encryption keys, then sealed frames only.
// Version 2: after the handshake the connection leaves WebSocket framing for the tunnel's own (tunnel-framing.ts),
// so the bytes are deciphered as they arrive instead of being gathered into messages and copied again. Version 1
// carried each sealed frame in a WebSocket message; the versions do not speak to each other, and each refuses the
// other by name (unsupported_version).
import { z } from 'zod';
import { ContentId } from '../../protocol/content-id.js';

export const TUNNEL_PROTOCOL = 'infernet-tunnel/2';
export const TUNNEL_PROTOCOL_VERSION = 2;
/**
 * The same tunnel on a libp2p stream, for a stage provider behind NAT (no ws:// listener anyone can reach): the
 * stream carries the WebSocket handshake and then the sealed frames, exactly as a TCP connection does.
 */
export const TUNNEL_STREAM_PROTOCOL = '/infernet/tunnel/2';
/** Tunnel streams one libp2p connection may hold open at once (a stage's control channel and llama-server's links). */
export const MAX_TUNNEL_STREAMS_PER_CONNECTION = 32;
/** Ephemeral-range Nostr kind for tunnel authentication; distinct from session auth (22242), so neither replays as the other. */
export const EVENT_KIND_TUNNEL_AUTH = 22243;
/** A handshake frame is small; anything larger is refused before it is parsed. */
export const MAX_HANDSHAKE_BYTES = 16 * 1024;
/** One sealed frame carries at most this much of the byte stream; a longer length prefix is refused unread. */
export const MAX_TUNNEL_FRAME_BYTES = 1024 * 1024;
export const TUNNEL_HANDSHAKE_TIMEOUT_MS = 10_000;

const Hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const EphemeralKey = z.string().regex(/^[A-Za-z0-9_-]{43}$/);
const JobId = z.string().min(1).max(128);

const NostrEventSchema = z.object({
  id: Hex64,
  pubkey: Hex64,
  created_at: z.number().int(),
  kind: z.number().int(),
  tags: z.array(z.array(z.string())),
  content: z.string().max(4096),
  sig: z.string().regex(/^[0-9a-f]{128}$/),
});

/** What the head asks for: start a stage for a job (the control channel), or a byte stream to that stage's worker. */
export const TunnelRequest = z.discriminatedUnion('action', [
  z
    .object({
      action: z.literal('stage.open'),
      jobId: JobId,
      threads: z.number().int().min(1).max(256).optional(),
      /** The model's content id: a provider holding that file pre-fills the worker's tensor cache from it. Optional (added in place in version 1). */
      modelCid: ContentId.optional(),
    })
    .strict(),
  z.object({ action: z.literal('tunnel.connect'), jobId: JobId }).strict(),
]);
export type TunnelRequest = z.infer<typeof TunnelRequest>;

export const TunnelHello = z.object({ type: z.literal('tunnel.hello'), version: z.number().int(), pubkey: Hex64, challenge: Hex64, ephemeral: EphemeralKey }).strict();
export const TunnelAuth = z.object({ type: z.literal('tunnel.auth'), challenge: Hex64, ephemeral: EphemeralKey, event: NostrEventSchema }).strict();
export const TunnelAccept = z.object({ type: z.literal('tunnel.accept'), event: NostrEventSchema }).strict();

export const TUNNEL_REFUSAL_CODES = ['unauthenticated', 'not_allowed', 'unknown_job', 'busy', 'limit_exceeded', 'stage_failed', 'unsupported_version'] as const;
export type TunnelRefusalCode = (typeof TUNNEL_REFUSAL_CODES)[number];
export const TunnelRefuse = z.object({ type: z.literal('tunnel.refuse'), code: z.enum(TUNNEL_REFUSAL_CODES), message: z.string().max(1000) }).strict();

export const HandshakeMessage = z.discriminatedUnion('type', [TunnelHello, TunnelAuth, TunnelAccept, TunnelRefuse]);
export type HandshakeMessage = z.infer<typeof HandshakeMessage>;

/** Sealed JSON on a stage's control channel, worker to head. */
export const StageControlMessage = z.discriminatedUnion('type', [
  z
    .object({
      type: z.literal('stage.ready'),
      memoryBytes: z.number().int().nonnegative(),
      threads: z.number().int().min(1),
      /** The stage's limits, so a head keeping it warm renews it between jobs rather than lose it mid-job. Optional. */
      maxStageMs: z.number().int().positive().optional(),
      maxStageBytes: z.number().int().positive().optional(),
      /** Tensor cache entries written from the provider's own copy of the model (stage.open's modelCid). Optional. */
      prefilled: z.object({ tensors: z.number().int().nonnegative(), bytes: z.number().int().nonnegative() }).strict().optional(),
    })
    .strict(),
  /** The worker process died and was restarted empty: the head must load the model again. */
  z.object({ type: z.literal('stage.restarted'), reason: z.string() }).strict(),
  z.object({ type: z.literal('stage.ended'), reason: z.string() }).strict(),
  /** Head to worker: the job is done with the stage; the worker answers stage.ended once the stage no longer counts. */
  z.object({ type: z.literal('stage.close') }).strict(),
]);
export type StageControlMessage = z.infer<typeof StageControlMessage>;
