// /infernet/record/1.0.0: the requester opens a stream and reads the provider's current signed record (JSON of
// a Nostr event) until the provider closes. Nothing is sent the other way, so there is nothing to parse there.
// /infernet/aggregator-record/1.0.0 is the same exchange for an aggregator's record (the protocol parameter).
import type { Libp2p, PeerId, Stream, StreamCloseEvent, StreamMessageEvent } from '@libp2p/interface';
import { streamTo } from '../nat/index.js';
import type { NostrEvent } from '../protocol/index.js';
import { MAX_RECORD_BYTES, RECORD_PROTOCOL } from './constants.js';
import { RecordFetchError } from './errors.js';

/** The signed event carries the record as escaped JSON: allow for the envelope and the escaping. */
const MAX_RESPONSE_BYTES = 2 * MAX_RECORD_BYTES + 4096;
const SERVE_TIMEOUT_MS = 10_000;

/** Serves whatever currentRecord returns at the time of each request; nothing when it returns undefined. */
export async function serveProviderRecord(libp2p: Libp2p, currentRecord: () => NostrEvent | undefined, protocol: string = RECORD_PROTOCOL): Promise<void> {
  await libp2p.handle(
    protocol,
    async (stream) => {
      const signal = AbortSignal.timeout(SERVE_TIMEOUT_MS);
      try {
        const record = currentRecord();
        if (record) stream.send(new TextEncoder().encode(JSON.stringify(record)));
        await stream.close({ signal });
      } catch (error) {
        stream.abort(error as Error);
      }
    },
    // A provider behind NAT is reached through a relay: its record must be readable there too.
    { maxInboundStreams: 64, runOnLimitedConnection: true },
  );
}

export async function stopServingProviderRecord(libp2p: Libp2p): Promise<void> {
  await libp2p.unhandle(RECORD_PROTOCOL);
}

/** The provider's signed record as parsed JSON, unverified: pass it to verifyProviderRecord with the peer id. */
export async function fetchProviderRecord(libp2p: Libp2p, peer: PeerId, signal: AbortSignal, protocol: string = RECORD_PROTOCOL): Promise<unknown> {
  let stream: Stream;
  try {
    // On the connection already open (a NATed provider's relayed one included): a dial would cost its relay a circuit.
    stream = await streamTo(libp2p, peer, protocol, { signal });
  } catch (cause) {
    throw new RecordFetchError(`cannot open ${protocol} to ${peer.toString()}: ${(cause as Error).message}`, { cause });
  }
  let bytes: Uint8Array;
  try {
    bytes = await readUntilRemoteCloses(stream, peer, signal);
  } catch (cause) {
    stream.abort(cause as Error);
    if (cause instanceof RecordFetchError) throw cause;
    throw new RecordFetchError(`reading the record of ${peer.toString()} failed: ${(cause as Error).message}`, { cause });
  }
  if (bytes.byteLength === 0) throw new RecordFetchError(`${peer.toString()} serves no provider record`);
  try {
    return JSON.parse(new TextDecoder().decode(bytes));
  } catch (cause) {
    throw new RecordFetchError(`${peer.toString()} sent a record that is not JSON`, { cause });
  }
}

/**
 * Listens for data and the remote's end of writing from the moment the stream is open, then closes our side.
 * (Iterating the stream only after `await stream.close()` can miss the remote's close and wait forever.)
 */
async function readUntilRemoteCloses(stream: Stream, peer: PeerId, signal: AbortSignal): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((ok, fail) => ([resolve, reject] = [ok, fail]));
  const onMessage = (event: StreamMessageEvent): void => {
    const chunk = event.data.subarray();
    length += chunk.byteLength;
    if (length > MAX_RESPONSE_BYTES) reject(new RecordFetchError(`${peer.toString()} sent more than ${MAX_RESPONSE_BYTES} bytes for its record`));
    else chunks.push(chunk);
  };
  const onClose = (event: StreamCloseEvent): void => (event.error ? reject(event.error) : resolve());
  const onAbort = (): void => reject(new RecordFetchError(`${peer.toString()} did not send its record in time`));
  stream.addEventListener('message', onMessage);
  const onRemoteCloseWrite = (): void => resolve();
  stream.addEventListener('remoteCloseWrite', onRemoteCloseWrite);
  stream.addEventListener('close', onClose);
  signal.addEventListener('abort', onAbort, { once: true });
  try {
    if (signal.aborted) onAbort();
    if (stream.remoteWriteStatus === 'closed' || stream.status !== 'open') resolve();
    await Promise.race([stream.close({ signal }), promise]);
    await promise;
    return Buffer.concat(chunks, length);
  } finally {
    stream.removeEventListener('message', onMessage);
    stream.removeEventListener('close', onClose);
    stream.removeEventListener('remoteCloseWrite', onRemoteCloseWrite);
    signal.removeEventListener('abort', onAbort);
  }
}
