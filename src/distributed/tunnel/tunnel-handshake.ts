// Both sides of a tunnel's handshake. The worker speaks first with its key, a challenge and an ephemeral key;
// the head answers with an event signed by its Nostr key over the worker's challenge, both ephemeral keys and
// its request; the worker checks it, decides, and answers with its own signed event over the head's challenge.
// Only then is a byte forwarded, and every later byte is sealed with keys both events vouch for. The handshake
// speaks WebSocket (text frames); at its end both sides take the TCP connection out of WebSocket framing for the
// tunnel's own (tunnel-framing.ts): the worker as it sends tunnel.accept, the head as it reads it, and the worker
// sends nothing sealed before the head's start frame, so no sealed byte ever reaches a WebSocket reader.
import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import WebSocket, { type ClientOptions } from 'ws';
import { signEnvelope, tagValue, verifyEnvelope, SignatureMismatchError, type NodeKey } from '../../identity/index.js';
import type { ErrorCode, NostrEvent } from '../../protocol/index.js';
import { holdFrames, takeHeldFrames, type Frame } from './held-frames.js';
import type { TunnelStreamOpener } from './tunnel-over-libp2p.js';
import { deriveTunnelKeys, newEphemeralKey, type EphemeralKey, type TunnelKeys } from './tunnel-cipher.js';
import {
  EVENT_KIND_TUNNEL_AUTH,
  HandshakeMessage,
  MAX_HANDSHAKE_BYTES,
  TUNNEL_HANDSHAKE_TIMEOUT_MS,
  TUNNEL_PROTOCOL,
  TUNNEL_PROTOCOL_VERSION,
  TunnelRequest,
  type TunnelRefusalCode,
} from './tunnel-protocol.js';
import { InfernetError } from '../../errors/index.js';

const AUTH_MAX_SKEW_SECONDS = 600;
const CLOSE_POLICY = 1008;

/** A tunnel's handshake was refused, by the worker (`tunnel.refuse`) or by this side; `refusal` is the tunnel's reason. */
export class TunnelRefusedError extends InfernetError {
  override readonly name = 'TunnelRefusedError';
  constructor(
    readonly refusal: TunnelRefusalCode,
    message: string,
  ) {
    super(WIRE_CODE_OF_REFUSAL[refusal], message);
  }
}

/**
 * The wire code each tunnel refusal means. not_allowed is a head whose key checks out but may not open or reach
 * that stage: forbidden (grant_refused, 403), not a failed authentication. limit_exceeded (which no worker sends yet)
 * reads as a limit on the head's requests: rate_limited.
 */
const WIRE_CODE_OF_REFUSAL: Readonly<Record<TunnelRefusalCode, ErrorCode>> = {
  unauthenticated: 'auth_failed',
  not_allowed: 'grant_refused',
  unknown_job: 'job_not_found',
  busy: 'busy',
  limit_exceeded: 'rate_limited',
  stage_failed: 'engine_failed',
  unsupported_version: 'unsupported_version',
};

export class TunnelUnreachableError extends InfernetError {
  override readonly name = 'TunnelUnreachableError';
  constructor(
    readonly url: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('provider_unreachable', message, options);
  }
}

export interface AuthenticatedTunnel {
  /** The handshake's TCP connection, out of WebSocket framing and paused, for a TunnelChannel. */
  socket: Socket;
  keys: TunnelKeys;
  /** The other side's hex public key, proven by its signature. */
  peer: string;
}

function signTunnelAuth(key: NodeKey, peer: string, peerChallenge: string, ephemeral: string, content: string): NostrEvent {
  return signEnvelope(key, {
    kind: EVENT_KIND_TUNNEL_AUTH,
    tags: [
      ['challenge', peerChallenge],
      ['p', peer],
      ['ephemeral', ephemeral],
      ['protocol', TUNNEL_PROTOCOL],
    ],
    content,
  });
}

function verifyTunnelAuth(event: NostrEvent, expected: { pubkey?: string; us: string; ourChallenge: string; ephemeral: string }): void {
  verifyEnvelope(event, {
    kind: EVENT_KIND_TUNNEL_AUTH,
    ...(expected.pubkey ? { pubkey: expected.pubkey } : {}),
    tags: { challenge: expected.ourChallenge, p: expected.us, ephemeral: expected.ephemeral, protocol: TUNNEL_PROTOCOL },
  });
  if (Math.abs(Date.now() / 1000 - event.created_at) > AUTH_MAX_SKEW_SECONDS) throw new SignatureMismatchError('tunnel auth event is too old or from the future: check the clock');
}

function transcriptOf(workerChallenge: string, headChallenge: string, workerEphemeral: string, headEphemeral: string): string {
  return [TUNNEL_PROTOCOL, workerChallenge, headChallenge, workerEphemeral, headEphemeral].join('|');
}

/**
 * The next text frame as a handshake message, or an error naming what was wrong with it. Frames that follow it
 * in the same read are held for the next reader (the next handshake step, or the tunnel's channel).
 */
function nextMessage(socket: WebSocket, timeoutMs: number): Promise<HandshakeMessage> {
  return new Promise((resolve, reject) => {
    // Frames not yet read that came in the same read as the previous step's message.
    let early = takeHeldFrames(socket);
    const timer = setTimeout(() => finish(new TunnelRefusedError('unauthenticated', `handshake not completed within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (data: Buffer, isBinary: boolean) => {
      if (isBinary || data.length > MAX_HANDSHAKE_BYTES) return finish(new TunnelRefusedError('unauthenticated', 'binary or oversized frame during the handshake'));
      try {
        const parsed = HandshakeMessage.safeParse(JSON.parse(data.toString('utf8')));
        if (!parsed.success) return finish(new TunnelRefusedError('unauthenticated', `invalid handshake frame: ${parsed.error.issues[0]?.message ?? 'unknown'}`));
        finish(undefined, parsed.data);
      } catch {
        finish(new TunnelRefusedError('unauthenticated', 'handshake frame is not JSON'));
      }
    };
    const onClose = () => finish(new TunnelRefusedError('unauthenticated', 'the connection closed during the handshake'));
    let finished = false;
    const finish = (error?: Error, message?: HandshakeMessage) => {
      finished = true;
      clearTimeout(timer);
      socket.off('message', onMessage);
      socket.off('close', onClose);
      if (error) return reject(error);
      holdFrames(socket, early);
      resolve(message!);
    };
    socket.on('message', onMessage);
    socket.on('close', onClose);
    while (!finished && early.length) {
      const [[data, isBinary], ...rest] = early as [Frame, ...Frame[]];
      early = rest;
      onMessage(data, isBinary);
    }
  });
}

/**
 * Takes the connection from the WebSocket's reader: after the handshake's last message the bytes on it are the
 * tunnel's frames. The WebSocket keeps its other listeners (close, end, error), so a server still forgets it when
 * the connection closes. Frames read already past the handshake mean a peer that did not wait its turn.
 */
function leaveWebSocket(webSocket: WebSocket, connection: Socket): Socket {
  const readers = connection.listeners('data');
  if (readers.length !== 1) throw new TunnelRefusedError('unauthenticated', `the connection has ${readers.length} readers, not the WebSocket's one`);
  connection.off('data', readers[0] as (chunk: Buffer) => void);
  connection.pause();
  if (takeHeldFrames(webSocket).length) throw new TunnelRefusedError('unauthenticated', 'WebSocket frames after the handshake');
  return connection;
}

function sendJson(socket: WebSocket, message: HandshakeMessage): void {
  if (socket.readyState === socket.OPEN) socket.send(JSON.stringify(message));
}

export function refuseTunnel(socket: WebSocket, code: TunnelRefusalCode, message: string): void {
  sendJson(socket, { type: 'tunnel.refuse', code, message });
  socket.close(CLOSE_POLICY, message.slice(0, 120));
}

// -------------------------------------------------------------------------------------------------------------
// Worker side

export interface WorkerHandshakeParameters {
  key: NodeKey;
  /** Decides on an authenticated head's request: throws TunnelRefusedError to refuse it. */
  decide: (head: string, request: TunnelRequest) => void | Promise<void>;
  timeoutMs?: number;
}

/**
 * Runs the worker's side on a fresh connection (`connection`: the TCP socket under the WebSocket); on refusal the
 * head is told why and the socket is closed.
 */
export async function acceptTunnelHandshake(socket: WebSocket, connection: Socket, params: WorkerHandshakeParameters): Promise<AuthenticatedTunnel & { request: TunnelRequest }> {
  const challenge = randomBytes(32).toString('hex');
  const ephemeral = newEphemeralKey();
  sendJson(socket, { type: 'tunnel.hello', version: TUNNEL_PROTOCOL_VERSION, pubkey: params.key.publicKey, challenge, ephemeral: ephemeral.publicKey });
  try {
    const auth = await nextMessage(socket, params.timeoutMs ?? TUNNEL_HANDSHAKE_TIMEOUT_MS);
    if (auth.type !== 'tunnel.auth') throw new TunnelRefusedError('unauthenticated', `expected tunnel.auth, got ${auth.type}`);
    const protocol = tagValue(auth.event, 'protocol');
    if (protocol !== TUNNEL_PROTOCOL) throw new TunnelRefusedError('unsupported_version', `the head speaks ${protocol ?? 'an unnamed protocol'}, this worker ${TUNNEL_PROTOCOL}`);
    try {
      verifyTunnelAuth(auth.event, { us: params.key.publicKey, ourChallenge: challenge, ephemeral: auth.ephemeral });
    } catch (error) {
      throw new TunnelRefusedError('unauthenticated', `tunnel authentication failed: ${(error as Error).message}`);
    }
    const request = parseRequest(auth.event.content);
    const head = auth.event.pubkey;
    await params.decide(head, request);
    const accept = signTunnelAuth(params.key, head, auth.challenge, ephemeral.publicKey, JSON.stringify({ accepted: request.action, jobId: request.jobId }));
    const keys = deriveTunnelKeys(ephemeral, auth.ephemeral, transcriptOf(challenge, auth.challenge, ephemeral.publicKey, auth.ephemeral), 'worker');
    // Taken before the accept goes out: the head's first frame after it is already the tunnel's.
    const tunnelConnection = leaveWebSocket(socket, connection);
    sendJson(socket, { type: 'tunnel.accept', event: accept });
    return { socket: tunnelConnection, keys, peer: head, request };
  } catch (error) {
    const refusal = error instanceof TunnelRefusedError ? error : new TunnelRefusedError('stage_failed', (error as Error).message);
    refuseTunnel(socket, refusal.refusal, refusal.message);
    throw refusal;
  }
}

function parseRequest(content: string): TunnelRequest {
  try {
    const parsed = TunnelRequest.safeParse(JSON.parse(content));
    if (parsed.success) return parsed.data;
  } catch {
    // fall through to the refusal
  }
  throw new TunnelRefusedError('unauthenticated', 'the signed request is not a valid tunnel request');
}

// -------------------------------------------------------------------------------------------------------------
// Head side

export interface DialTunnelParameters {
  url: string;
  key: NodeKey;
  /** The worker's hex public key: a worker that cannot prove it is refused. */
  worker: string;
  request: TunnelRequest;
  timeoutMs?: number;
  /**
   * For a stage reached over libp2p (`url` is then libp2p://<peer id>): opens the stream that stands in for the TCP
   * connection. The handshake and the frames on it are the same; only the connection comes from elsewhere.
   */
  open?: TunnelStreamOpener;
}

/** The URL the WebSocket handshake names on a libp2p stream: its host is never looked up, the stream is the connection. */
const URL_OVER_STREAM = 'ws://stage.libp2p.invalid/';

export async function dialTunnel(params: DialTunnelParameters): Promise<AuthenticatedTunnel> {
  const timeoutMs = params.timeoutMs ?? TUNNEL_HANDSHAKE_TIMEOUT_MS;
  let stream: Duplex | undefined;
  if (params.open) {
    try {
      stream = await params.open();
    } catch (error) {
      throw new TunnelUnreachableError(params.url, `cannot reach the stage at ${params.url}: ${(error as Error).message}`, { cause: error });
    }
  }
  const overStream = stream;
  // WebSocket carries the handshake's few small text frames only; the tunnel's frames follow on the connection.
  const socket = new WebSocket(overStream ? URL_OVER_STREAM : params.url, {
    maxPayload: MAX_HANDSHAKE_BYTES,
    perMessageDeflate: false,
    handshakeTimeout: timeoutMs,
    // The libp2p stream is used as ws uses a TCP socket: a Duplex with setNoDelay and setTimeout (libp2p-stream-socket.ts).
    ...(overStream ? { createConnection: (() => overStream) as unknown as ClientOptions['createConnection'] } : {}),
  });
  const unreachable = new Promise<never>((_, reject) =>
    socket.once('error', (error) => reject(new TunnelUnreachableError(params.url, `cannot reach the stage at ${params.url}: ${error.message}`, { cause: error }))),
  );
  unreachable.catch(() => undefined);
  let connection: Socket | undefined;
  socket.once('upgrade', (response) => (connection = response.socket));
  try {
    return await Promise.race([headHandshake(socket, () => connection, params, timeoutMs), unreachable]);
  } catch (error) {
    socket.terminate();
    overStream?.destroy();
    throw error;
  }
}

async function headHandshake(socket: WebSocket, connection: () => Socket | undefined, params: DialTunnelParameters, timeoutMs: number): Promise<AuthenticatedTunnel> {
  const hello = await nextMessage(socket, timeoutMs);
  if (hello.type === 'tunnel.refuse') throw new TunnelRefusedError(hello.code, hello.message);
  if (hello.type !== 'tunnel.hello') throw new TunnelRefusedError('unauthenticated', `expected tunnel.hello, got ${hello.type}`);
  if (hello.version !== TUNNEL_PROTOCOL_VERSION) throw new TunnelRefusedError('unsupported_version', `the worker speaks tunnel version ${hello.version}, we speak ${TUNNEL_PROTOCOL_VERSION}`);
  if (hello.pubkey !== params.worker) throw new TunnelRefusedError('unauthenticated', `the stage at ${params.url} is ${hello.pubkey.slice(0, 12)}, not the expected ${params.worker.slice(0, 12)}`);
  const challenge = randomBytes(32).toString('hex');
  const ephemeral: EphemeralKey = newEphemeralKey();
  const event = signTunnelAuth(params.key, params.worker, hello.challenge, ephemeral.publicKey, JSON.stringify(params.request));
  sendJson(socket, { type: 'tunnel.auth', challenge, ephemeral: ephemeral.publicKey, event });
  const answer = await nextMessage(socket, timeoutMs);
  if (answer.type === 'tunnel.refuse') throw new TunnelRefusedError(answer.code, answer.message);
  if (answer.type !== 'tunnel.accept') throw new TunnelRefusedError('unauthenticated', `expected tunnel.accept, got ${answer.type}`);
  try {
    verifyTunnelAuth(answer.event, { pubkey: params.worker, us: params.key.publicKey, ourChallenge: challenge, ephemeral: hello.ephemeral });
  } catch (error) {
    throw new TunnelRefusedError('unauthenticated', `the worker's answer failed authentication: ${(error as Error).message}`);
  }
  if (tagValue(answer.event, 'ephemeral') !== hello.ephemeral) throw new TunnelRefusedError('unauthenticated', 'the worker changed its ephemeral key');
  const keys = deriveTunnelKeys(ephemeral, hello.ephemeral, transcriptOf(hello.challenge, challenge, hello.ephemeral, ephemeral.publicKey), 'head');
  const upgraded = connection();
  if (!upgraded) throw new TunnelRefusedError('unauthenticated', 'no connection under the WebSocket');
  return { socket: leaveWebSocket(socket, upgraded), keys, peer: params.worker };
}
