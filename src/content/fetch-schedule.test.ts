// The scheduler's rules as tables: a holder's window follows its rate within bounds, the rate meter counts what
// arrived over its span, and the end game duplicates only what a slower holder would deliver later.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseDuplicate, RateMeter, windowFor, type OutstandingRequest, type WindowSettings } from './fetch-schedule.js';

const BLOCK = 262_144;
const SETTINGS: WindowSettings = { blockBytes: BLOCK, maxWindow: 16, initialWindow: 4, minWindow: 2, queueTargetMs: 250 };

describe('windowFor: requests a holder may have outstanding', () => {
  const table: Array<[string, number | undefined, Partial<WindowSettings>, number]> = [
    ['starts at the initial window before any block arrived', undefined, {}, 4],
    ['a loopback-fast holder is capped at maxWindow', 500e6, {}, 16],
    ['a 20 MB/s link holds 250 ms of its rate: 20 blocks, capped at 16', 20e6, {}, 16],
    ['a 5 MB/s link holds 250 ms of its rate: 5 blocks', 5e6, {}, 5],
    ['a 1 MB/s link keeps the minimum, so it never idles between answers', 1e6, {}, 2],
    ['a holder that delivered nothing in the span keeps the minimum', 0, {}, 2],
    ['windowPerPeer 1 wins over the minimum', 500e6, { maxWindow: 1 }, 1],
    ['windowPerPeer 1 wins over the initial window', undefined, { maxWindow: 1 }, 1],
    ['a longer queue target holds more blocks', 5e6, { queueTargetMs: 1_000 }, 16],
  ];
  for (const [name, rate, overrides, expected] of table) {
    it(name, () => assert.equal(windowFor(rate, { ...SETTINGS, ...overrides }), expected));
  }
});

describe('RateMeter: bytes per second over its span', () => {
  it('is undefined until a block arrived', () => {
    const meter = new RateMeter(1_000);
    meter.start(0);
    assert.equal(meter.rate(500), undefined);
  });

  it('counts from when the holder got work, not from a long-past start', () => {
    const meter = new RateMeter(1_000);
    meter.start(10_000);
    meter.record(10_100, 1_000_000);
    assert.equal(meter.rate(10_200), 5_000_000);
  });

  it('forgets blocks older than its span', () => {
    const meter = new RateMeter(1_000);
    meter.start(0);
    meter.record(100, 9_000_000);
    meter.record(1_900, 1_000_000);
    assert.equal(meter.rate(2_000), 1_000_000);
  });

  it('keeps a fixed number of samples however many blocks arrive', () => {
    const meter = new RateMeter(1_000, 4);
    meter.start(0);
    for (let time = 1; time <= 100; time++) meter.record(time, 1_000);
    // The four samples kept (97..100) over the time since the oldest of them.
    assert.equal(meter.rate(100), (4 * 1_000 * 1000) / 3);
  });
});

describe('chooseDuplicate: the end game', () => {
  const request = (leaf: number, holder: string, queuePosition: number, copies = 1): OutstandingRequest => ({ leaf, holder, queuePosition, copies });
  const choice = (holder: string, rates: Record<string, number | undefined>, holderInFlight = 0) => ({ holder, holderInFlight, rates: new Map(Object.entries(rates)), blockBytes: BLOCK, maxCopies: 2 });

  const table: Array<[string, OutstandingRequest[], ReturnType<typeof choice>, number | undefined]> = [
    ['a fast idle holder takes the slow holder’s last leaf', [request(7, 'slow', 1), request(8, 'slow', 2)], choice('fast', { slow: 1e6, fast: 100e6 }), 8],
    ['equal holders do not duplicate each other', [request(7, 'a', 1), request(8, 'a', 2)], choice('b', { a: 50e6, b: 50e6 }, 2), undefined],
    ['a slower idle holder leaves a faster holder’s leaves alone', [request(7, 'fast', 1)], choice('slow', { slow: 1e6, fast: 100e6 }), undefined],
    ['a leaf already asked of two holders is not asked of a third', [request(7, 'slow', 1, 2), request(7, 'other', 1, 2)], choice('fast', { slow: 1e6, other: 1e6, fast: 100e6 }), undefined],
    ['a holder never duplicates its own leaf', [request(7, 'slow', 1, 2), request(7, 'fast', 3, 2)], choice('fast', { slow: 1e6, fast: 100e6 }), undefined],
    ['the leaf of a holder that has delivered nothing goes first', [request(3, 'silent', 1), request(9, 'slow', 4)], choice('fast', { silent: undefined, slow: 1e6, fast: 100e6 }), 3],
    ['a holder whose own rate is unknown takes only what nobody delivers', [request(3, 'silent', 1), request(9, 'slow', 4)], choice('new', { silent: undefined, slow: 1e6 }), 3],
    ['nothing outstanding, nothing to duplicate', [], choice('fast', { fast: 100e6 }), undefined],
  ];
  for (const [name, outstanding, chosen, expected] of table) {
    it(name, () => assert.equal(chooseDuplicate(outstanding, chosen), expected));
  }
});
