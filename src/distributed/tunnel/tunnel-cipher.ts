// The encryption of a tunnel: both ends contribute an ephemeral X25519 key, signed into their authentication
// event, and derive one AES-256-GCM key per direction from the shared secret. Frames carry no nonce: each side
// counts the frames it sends, and WebSocket over TCP keeps them in order, so a replayed, dropped or reordered
// frame fails authentication.
import { createCipheriv, createDecipheriv, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, type KeyObject } from 'node:crypto';
import { InfernetError } from '../../errors/index.js';

const TAG_BYTES = 16;
const INFO_PREFIX = 'infernet-tunnel/1';

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
    ? { send: new TunnelSealer(headToWorker), receive: new TunnelOpener(workerToHead) }
    : { send: new TunnelSealer(workerToHead), receive: new TunnelOpener(headToWorker) };
}

function nonceOf(counter: bigint): Buffer {
  const nonce = Buffer.alloc(12);
  nonce.writeBigUInt64BE(counter, 4);
  return nonce;
}

export class TunnelSealer {
  private counter = 0n;
  constructor(private readonly key: Buffer) {}

  seal(plain: Buffer): Buffer {
    const cipher = createCipheriv('aes-256-gcm', this.key, nonceOf(this.counter++));
    const body = cipher.update(plain);
    cipher.final();
    return Buffer.concat([body, cipher.getAuthTag()]);
  }
}

export class TunnelOpener {
  private counter = 0n;
  constructor(private readonly key: Buffer) {}

  open(sealed: Buffer): Buffer {
    if (sealed.length < TAG_BYTES) throw new TunnelFrameRejectedError('tunnel frame shorter than its tag');
    const decipher = createDecipheriv('aes-256-gcm', this.key, nonceOf(this.counter++));
    decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
    const body = decipher.update(sealed.subarray(0, sealed.length - TAG_BYTES));
    try {
      decipher.final();
    } catch (cause) {
      throw new TunnelFrameRejectedError('tunnel frame failed authentication (tampered, replayed or out of order)', { cause });
    }
    return body;
  }
}
