import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareDialAddresses } from './dial-order.js';

const relay = '/ip4/11.200.0.10/tcp/4001/p2p/12D3KooWRelay';
const peer = '12D3KooWPeer';

describe('dial order', () => {
  it('dials direct addresses, then the relay, and the WebRTC address through the relay last', () => {
    const addresses = [`${relay}/p2p-circuit/webrtc/p2p/${peer}`, `${relay}/p2p-circuit/p2p/${peer}`, '/ip4/127.0.0.1/tcp/1', '/ip4/10.82.0.2/tcp/2', '/ip4/11.200.0.3/tcp/3'];
    const sorted = addresses.map((address) => ({ multiaddr: address })).sort(compareDialAddresses).map((address) => address.multiaddr);
    assert.deepEqual(sorted, ['/ip4/11.200.0.3/tcp/3', '/ip4/10.82.0.2/tcp/2', '/ip4/127.0.0.1/tcp/1', `${relay}/p2p-circuit/p2p/${peer}`, `${relay}/p2p-circuit/webrtc/p2p/${peer}`]);
  });
});
