import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { generateKeyPair } from '@libp2p/crypto/keys';
import { peerIdFromPrivateKey } from '@libp2p/peer-id';
import { multiaddr } from '@multiformats/multiaddr';
import { dialAddressOf } from './job-streams.js';

describe('the address a peer is dialled at', () => {
  it('names the peer to upgrade to, not the relay that a stored address ends with', async () => {
    const peer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'));
    const relay = peerIdFromPrivateKey(await generateKeyPair('Ed25519'));
    // How libp2p's peer store keeps a relay client's WebRTC address: without the peer's own /p2p suffix.
    const stored = multiaddr(`/ip4/11.200.0.10/tcp/4001/p2p/${relay}/p2p-circuit/webrtc`);
    const dialled = dialAddressOf(stored, peer);
    // libp2p dials the peer an address's last /p2p names: dialled as stored, that is the relay.
    assert.equal(dialled.getComponents().findLast((component) => component.name === 'p2p')?.value, peer.toString());
    assert.equal(dialled.toString(), `${stored.toString()}/p2p/${peer}`);
    assert.equal(dialAddressOf(dialled, peer).toString(), dialled.toString(), 'an address that names the peer is kept as it is');
  });
});
