// redialUntil's bounds, with dial functions that fail on purpose (no network: what is tested is the loop's rule).
// The job that outlives its aggregator's restart is test/e2e/crash-recovery.test.ts, with real daemons.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PeerSession } from '../transport/index.js';
import { redialUntil } from './run-job-through-aggregator.js';

const session = {} as PeerSession;

describe('redialUntil (dialling a restarting aggregator again)', () => {
  it('returns the first session that opens', async () => {
    let tries = 0;
    const opened = await redialUntil(async () => {
      if (++tries < 3) throw new Error(`refused ${tries}`);
      return session;
    }, Date.now() + 10_000);
    assert.equal(opened, session);
    assert.equal(tries, 3);
  });
  it('gives up with the last error once its time is over', async () => {
    let tries = 0;
    await assert.rejects(
      redialUntil(async () => {
        throw new Error(`refused ${++tries}`);
      }, Date.now() + 600),
      (error: Error) => error.message === `refused ${tries}`,
    );
    assert.ok(tries >= 2, `dialled ${tries} times`);
  });
  it('stops at once when its signal aborts', async () => {
    const abort = new AbortController();
    abort.abort();
    let tries = 0;
    await assert.rejects(redialUntil(async () => {
      tries++;
      throw new Error('refused');
    }, Date.now() + 10_000, abort.signal));
    assert.equal(tries, 1);
  });
});
