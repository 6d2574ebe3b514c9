// A node's libp2p key is derived from its Nostr secret key, so the peer id is stable across restarts and
// needs no second key file. Derived through HKDF, never reused as is: one key, one signature scheme.
import { hkdfSync } from 'node:crypto';
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys';
import type { Ed25519PrivateKey } from '@libp2p/interface';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import type { NodeKey } from '../identity/index.js';

const HKDF_SALT = 'infernet';
const HKDF_INFO = 'libp2p-ed25519/1';

export interface DeriveLibp2pKeyReturnType {
  privateKey: Ed25519PrivateKey;
  peerId: string;
}

export async function deriveLibp2pKey(key: Pick<NodeKey, 'secretKey'>): Promise<DeriveLibp2pKeyReturnType> {
  const seed = new Uint8Array(hkdfSync('sha256', key.secretKey, HKDF_SALT, HKDF_INFO, 32));
  const privateKey = await generateKeyPairFromSeed('Ed25519', seed);
  return { privateKey, peerId: peerIdFromPrivateKey(privateKey).toString() };
}
