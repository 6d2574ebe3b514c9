import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dialAddressComparator, localNetworksOf } from './dial-order.js';

const relay = '/ip4/11.200.0.10/tcp/4001/p2p/12D3KooWRelay';
const peer = '12D3KooWPeer';
/** This machine on 10.81.0.2/24 (behind one NAT) and loopback, as the NAT tests' head. */
const local = localNetworksOf({
  eth0: [{ address: '10.81.0.2', netmask: '255.255.255.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: false, cidr: '10.81.0.2/24' }],
  lo: [{ address: '127.0.0.1', netmask: '255.0.0.0', family: 'IPv4', mac: '00:00:00:00:00:00', internal: true, cidr: '127.0.0.1/8' }],
});
const sort = (addresses: string[]) => addresses.map((address) => ({ multiaddr: address })).sort(dialAddressComparator(() => local)).map((address) => address.multiaddr);

describe('dial order', () => {
  it('dials public, then private on this machine\'s networks, loopback, the relay, private addresses elsewhere, and the WebRTC address through the relay last', () => {
    const addresses = [`${relay}/p2p-circuit/webrtc/p2p/${peer}`, `${relay}/p2p-circuit/p2p/${peer}`, '/ip4/10.82.0.2/tcp/4', '/ip4/127.0.0.1/tcp/1', '/ip4/10.81.0.7/tcp/2', '/ip4/11.200.0.3/tcp/3'];
    assert.deepEqual(sort(addresses), ['/ip4/11.200.0.3/tcp/3', '/ip4/10.81.0.7/tcp/2', '/ip4/127.0.0.1/tcp/1', `${relay}/p2p-circuit/p2p/${peer}`, '/ip4/10.82.0.2/tcp/4', `${relay}/p2p-circuit/webrtc/p2p/${peer}`]);
  });

  it('still dials a private address elsewhere when a peer has no relayed one (a routed private network)', () => {
    assert.deepEqual(sort(['/ip4/10.82.0.2/tcp/4', '/ip4/127.0.0.1/tcp/1']), ['/ip4/127.0.0.1/tcp/1', '/ip4/10.82.0.2/tcp/4']);
  });

  it('reads this machine\'s own networks from its interfaces', () => {
    const here = localNetworksOf();
    assert.ok(here.check('127.0.0.1', 'ipv4'), 'loopback is a network of every machine');
    assert.ok(!here.check('203.0.113.9', 'ipv4'), 'a documentation address is none of them');
  });
});
