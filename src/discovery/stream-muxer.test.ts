// The stream muxer discovery's libp2p runs on (yamux), at the moment a peer's connection is closing: a stream
// aborted then must not leave a promise rejected with nobody to hear it. In a daemon such a rejection ends the
// process (Node's default), so a peer that drops its TCP connection while one of our streams is being opened
// could stop a node. @chainsafe/libp2p-yamux 8.0.0 sent the reset from an async method whose rejection nobody
// awaited (a CI run caught it as "StreamStateError: Cannot write to a stream that is closing"); 8.0.1 sends it
// synchronously, where the stream's abort catches it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { yamux } from '@chainsafe/libp2p-yamux';
import { multiaddrConnectionPair } from '@libp2p/utils';

test('aborting a stream whose connection is closing rejects no promise', async () => {
  const unheard: unknown[] = [];
  const onRejection = (reason: unknown) => void unheard.push(reason);
  process.on('unhandledRejection', onRejection);
  try {
    const [outbound, inbound] = multiaddrConnectionPair();
    const factory = yamux()();
    const dialer = factory.createStreamMuxer(outbound);
    factory.createStreamMuxer(inbound);
    const stream = await dialer.createStream();
    // The connection starts closing (its write side refuses data from now on) while the stream is still open.
    const closing = outbound.close();
    assert.equal(stream.status, 'open');
    stream.abort(new Error('the protocol negotiation failed'));
    await closing.catch(() => undefined);
    // Unhandled rejections are reported after the microtask queue drains: give them two turns of the event loop.
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(unheard.map((reason) => (reason as Error).message), []);
  } finally {
    process.off('unhandledRejection', onRejection);
  }
});
