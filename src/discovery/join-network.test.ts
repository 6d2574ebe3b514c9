import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JOIN_ENOUGH_PEERS, needsJoinLookup } from './join-network.js';

describe('needsJoinLookup', () => {
  const cases: Array<[string, { tableSize: number; bootstrapPeers: number }, boolean]> = [
    ['looks itself up while it knows only its bootstrap peer', { tableSize: 1, bootstrapPeers: 1 }, true],
    ['looks itself up while kad-dht has not added the bootstrap peer yet', { tableSize: 0, bootstrapPeers: 1 }, true],
    ['looks itself up while it knows no more than its three bootstrap peers', { tableSize: 3, bootstrapPeers: 3 }, true],
    ['looks itself up while it knows a single peer besides its bootstrap peer (a lookup that reached one peer)', { tableSize: 2, bootstrapPeers: 1 }, true],
    ['leaves a table that grew two past the bootstrap peers to kad-dht', { tableSize: 3, bootstrapPeers: 1 }, false],
    ['never looks up with a full table, whatever the bootstrap list', { tableSize: JOIN_ENOUGH_PEERS, bootstrapPeers: 40 }, false],
  ];
  for (const [name, table, expected] of cases) it(name, () => assert.equal(needsJoinLookup(table), expected));
});
