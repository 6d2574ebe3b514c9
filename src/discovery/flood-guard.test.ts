import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FloodGuard } from './flood-guard.js';

function guardAt(start = 0) {
  const clock = { now: start };
  return { clock, guard: new FloodGuard({ maxMessages: 3, intervalMs: 1000, banMs: 5000 }, () => clock.now) };
}

describe('FloodGuard', () => {
  it('accepts up to the limit per interval, then bans the peer once and ignores it', () => {
    const { guard } = guardAt();
    const verdicts = Array.from({ length: 6 }, () => guard.admit('p'));
    assert.deepEqual(verdicts, ['accept', 'accept', 'accept', 'banned', 'ignored', 'ignored']);
    assert.equal(guard.isBanned('p'), true);
  });

  it('counts each peer on its own', () => {
    const { guard } = guardAt();
    for (let i = 0; i < 3; i++) guard.admit('flooder');
    assert.equal(guard.admit('flooder'), 'banned');
    assert.equal(guard.admit('honest'), 'accept');
  });

  it('starts a new count each interval', () => {
    const { clock, guard } = guardAt();
    for (let i = 0; i < 3; i++) assert.equal(guard.admit('p'), 'accept');
    clock.now += 1000;
    assert.equal(guard.admit('p'), 'accept');
  });

  it('lets a banned peer back after the ban', () => {
    const { clock, guard } = guardAt();
    for (let i = 0; i < 4; i++) guard.admit('p');
    clock.now += 4999;
    assert.equal(guard.admit('p'), 'ignored');
    clock.now += 1;
    assert.equal(guard.admit('p'), 'accept');
    assert.equal(guard.isBanned('p'), false);
  });
});
