// The encryption of a tunnel: both ends contribute an ephemeral X25519 key, signed into their authentication
// event, and derive one AES-256-GCM key per direction from the shared secret. Frames carry no nonce: each side
// counts the frames it sends, and TCP keeps them in order, so a replayed, dropped or reordered frame fails
// authentication.
import { createCipheriv, createDecipheriv, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, type DecipherGCM, type KeyObject } from 'node:crypto';
import { TUNNEL_PROTOCOL } from './tunnel-protocol.js';
import { InfernetError } from '../../errors/index.js';

export const TAG_BYTES = 16;
/** The protocol's name and version go into the keys: two versions never share a key. */
const INFO_PREFIX = TUNNEL_PROTOCOL;

export class TunnelFrameRejectedError extends InfernetError {
  override readonly name = 'TunnelFrameRejectedError';
  constructor(message: string, options?: { cause?: unknown }) {
    super('invalid_frame', message, options);
  }
}

export interface EphemeralKey {
  readonly privateKey: KeyObject;
  /** The raw 32-byte public key, base64url, as it travels in the handshake. */
  readonly publicKey: string;
}

export function newEphemeralKey(): EphemeralKey {
  const { privateKey, publicKey } = generateKeyPairSync('x25519');
  const jwk = publicKey.export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new Error('x25519 key without a public part');
  return { privateKey, publicKey: jwk.x };
}

export interface TunnelKeys {
  /** Which end of the tunnel these keys are for: the head speaks first once the handshake is over. */
  readonly side: 'head' | 'worker';
  /** Seals what this side sends. */
  readonly send: TunnelSealer;
  /** Opens what the other side sent. */
  readonly receive: TunnelOpener;
}

/**
 * Both sides call this with the same transcript (the two challenges, the two ephemeral keys); `side` says
 * which direction's key seals this side's frames.
 */
export function deriveTunnelKeys(own: EphemeralKey, peerPublicKey: string, transcript: string, side: 'head' | 'worker'): TunnelKeys {
  let peer: KeyObject;
  try {
    peer = createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: peerPublicKey }, format: 'jwk' });
  } catch (cause) {
    throw new TunnelFrameRejectedError('the peer sent an invalid ephemeral key', { cause });
  }
  const secret = diffieHellman({ privateKey: own.privateKey, publicKey: peer });
  const key = (direction: string) => Buffer.from(hkdfSync('sha256', secret, Buffer.from(transcript), `${INFO_PREFIX} ${direction}`, 32));
  const headToWorker = key('head->worker');
  const workerToHead = key('worker->head');
  return side === 'head'
    ? { side, send: new TunnelSealer(headToWorker), receive: new TunnelOpener(workerToHead) }
    : { side, send: new TunnelSealer(workerToHead), receive: new TunnelOpener(headToWorker) };
}

function nonceOf(counter: bigint): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeBigUInt64BE(counter, 4);
  return nonce;
}

/** One sealed frame in the pieces that go on the wire as they are (written together with writev, never joined). */
export interface SealedFrame {
  body: Buffer[];
  tag: Buffer;
}

export class TunnelSealer {
  private counter = 0n;
  constructor(private readonly key: Buffer) {}

  /**
   * Encrypts the pieces of `plain` as one frame under the next nonce; `header` (the frame's type and length) is
   * authenticated with it.
   */
  seal(header: Buffer, plain: readonly Buffer[]): SealedFrame {
    const cipher = createCipheriv('aes-256-gcm', this.key, nonceOf(this.counter++));
    cipher.setAAD(header);
    const body: Buffer[] = [];
    for (const piece of plain) if (piece.length) body.push(cipher.update(piece));
    cipher.final();
    return { body, tag: cipher.getAuthTag() };
  }
}

export class TunnelOpener {
  private counter = 0n;
  constructor(private readonly key: Buffer) {}

  /** Starts opening the next frame, whose body then comes in pieces as it arrives. */
  begin(header: Buffer): FrameOpening {
    const decipher = createDecipheriv('aes-256-gcm', this.key, nonceOf(this.counter++));
    decipher.setAAD(header);
    return new FrameOpening(decipher);
  }
}

/**
 * One frame being opened. GCM deciphers before it verifies: the pieces `update` returns are unverified and the
 * caller must hold them until `verify` has accepted the tag.
 */
export class FrameOpening {
  constructor(private readonly decipher: DecipherGCM) {}

  update(piece: Buffer): Buffer {
    return this.decipher.update(piece);
  }

  verify(tag: Buffer): void {
    if (tag.length !== TAG_BYTES) throw new TunnelFrameRejectedError('tunnel frame with a short tag');
    try {
      this.decipher.setAuthTag(tag);
      this.decipher.final();
    } catch (cause) {
      throw new TunnelFrameRejectedError('tunnel frame failed authentication (tampered, replayed or out of order)', { cause });
    }
  }
}
