import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { JobSlots } from './job-slots.js';

describe('JobSlots', () => {
  it('grants up to its capacity at once and queues the rest in arrival order', async () => {
    const slots = new JobSlots(2);
    const order: string[] = [];
    const first = await slots.acquire();
    const second = await slots.acquire();
    const third = slots.acquire().then((release) => (order.push('third'), release));
    const fourth = slots.acquire().then((release) => (order.push('fourth'), release));
    assert.equal(slots.inUse, 2);
    assert.equal(slots.waiting, 2);
    first();
    (await third)();
    second();
    (await fourth)();
    assert.deepEqual(order, ['third', 'fourth']);
    assert.equal(slots.inUse, 0);
  });

  it('never runs more tasks at once than it has slots', async () => {
    const slots = new JobSlots(3);
    let running = 0;
    let most = 0;
    await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        slots.run(async () => {
          most = Math.max(most, ++running);
          await new Promise((resolve) => setTimeout(resolve, 5 + (i % 4)));
          running--;
        }),
      ),
    );
    assert.equal(most, 3);
    assert.equal(slots.inUse, 0);
  });

  it('gives the slot back when a task fails, and counts a second release once', async () => {
    const slots = new JobSlots(1);
    await assert.rejects(slots.run(() => Promise.reject(new Error('job failed'))), /job failed/);
    const release = slots.tryAcquire();
    assert.ok(release);
    release();
    release();
    assert.equal(slots.inUse, 0);
  });

  it('lets a provider refuse instead of queueing when every slot is taken', () => {
    const slots = new JobSlots(1);
    assert.ok(slots.tryAcquire());
    assert.equal(slots.tryAcquire(), undefined);
  });

  it('drops a waiter whose job is cancelled, so the slot goes to the next one', async () => {
    const slots = new JobSlots(1);
    const held = await slots.acquire();
    const controller = new AbortController();
    const cancelled = slots.acquire(controller.signal);
    const next = slots.acquire();
    controller.abort(new Error('client cancelled'));
    await assert.rejects(cancelled, /client cancelled/);
    assert.equal(slots.waiting, 1);
    held();
    (await next)();
    assert.equal(slots.inUse, 0);
  });

  it('refuses a capacity that is not a positive integer', () => {
    assert.throws(() => new JobSlots(0), RangeError);
    assert.throws(() => new JobSlots(1.5), RangeError);
  });
});
