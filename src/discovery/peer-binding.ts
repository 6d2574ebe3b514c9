// The signed binding between a node's Nostr key and its libp2p peer id. Each key signs the other: the Nostr key
// signs an event naming the peer id, and that event carries the libp2p key's signature over the Nostr key. A
// record claiming someone else's peer id, or a peer presenting someone else's Nostr key, fails one of the two.
import type { PrivateKey } from '@libp2p/interface';
import { peerIdFromString } from '@libp2p/peer-id';
import { signEnvelope, tagValue, verifyEnvelope, type NodeKey } from '../identity/index.js';
import type { NostrEvent } from '../protocol/index.js';
import { EVENT_KIND_PEER_BINDING, PEER_BINDING_D_TAG } from './constants.js';
import { PeerBindingError, RecordSignatureError } from './errors.js';

/** What the libp2p key signs: domain-separated so the signature means nothing anywhere else. */
export function peerBindingMessage(nostrPubkey: string, peerId: string): Uint8Array {
  return new TextEncoder().encode(`infernet-peer-binding/1:${nostrPubkey}:${peerId}`);
}

export async function createPeerBinding(key: NodeKey, libp2pKey: PrivateKey, peerId: string): Promise<NostrEvent> {
  const signature = await libp2pKey.sign(peerBindingMessage(key.publicKey, peerId));
  return signEnvelope(key, {
    kind: EVENT_KIND_PEER_BINDING,
    tags: [
      ['d', PEER_BINDING_D_TAG],
      ['peer', peerId],
      ['peer_sig', Buffer.from(signature).toString('base64')],
    ],
    content: '',
  });
}

export interface VerifyPeerBindingParameters {
  binding: NostrEvent;
  /** The Nostr key the binding must come from. */
  pubkey: string;
  /** The libp2p peer id it must name. */
  peerId: string;
}

/** Throws RecordSignatureError or PeerBindingError unless both keys vouch for each other. */
export async function verifyPeerBinding({ binding, pubkey, peerId }: VerifyPeerBindingParameters): Promise<void> {
  try {
    verifyEnvelope(binding, { kind: EVENT_KIND_PEER_BINDING, tags: { d: PEER_BINDING_D_TAG } });
  } catch (cause) {
    throw new RecordSignatureError(`the peer binding does not verify: ${(cause as Error).message}`, { cause });
  }
  if (binding.pubkey !== pubkey) throw new PeerBindingError(`the peer binding is signed by ${binding.pubkey.slice(0, 12)}, not by ${pubkey.slice(0, 12)}`);
  const named = tagValue(binding, 'peer');
  if (named !== peerId) throw new PeerBindingError(`the peer binding names peer ${named ?? '(none)'}, not ${peerId}`);
  let publicKey;
  try {
    publicKey = peerIdFromString(peerId).publicKey;
  } catch (cause) {
    throw new PeerBindingError(`"${peerId}" is not a libp2p peer id`, { cause });
  }
  if (!publicKey) throw new PeerBindingError(`peer id ${peerId} does not embed its public key (only Ed25519 and secp256k1 ids do)`);
  const signature = Buffer.from(tagValue(binding, 'peer_sig') ?? '', 'base64');
  const valid = signature.length > 0 && (await publicKey.verify(peerBindingMessage(pubkey, peerId), signature));
  if (!valid) throw new PeerBindingError(`peer ${peerId} did not sign the binding to Nostr key ${pubkey.slice(0, 12)}`);
}
