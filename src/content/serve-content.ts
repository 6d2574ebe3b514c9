// The serving side of /infernet/content/1.0.0: answers have and want from what the local ContentStore holds.
// It does not re-hash what it serves (the fetcher verifies every block); a file changed since it was added
// (size or modification time) is simply no longer offered.
import type { Libp2p, Stream } from '@libp2p/interface';
import type { Logger } from '../log/index.js';
import { CONTENT_PROTOCOL } from './constants.js';
import type { ContentStore } from './content-store.js';
import { parseCid } from './content-store.js';
import { FrameReader, sendFrame, type ExchangeHeader } from './exchange-frames.js';

export interface ServeContentOptions {
  store: ContentStore;
  logger: Logger;
  /** Called with the bytes of each block served (metrics, tests). */
  onServed?: (bytes: number) => void;
}

const MAX_INBOUND_STREAMS = 64;

export async function serveContent(libp2p: Libp2p, options: ServeContentOptions): Promise<void> {
  const log = options.logger.child({ component: 'content' });
  await libp2p.handle(
    CONTENT_PROTOCOL,
    async (stream) => {
      try {
        await answerRequests(stream, options);
        await stream.close().catch(() => undefined);
      } catch (error) {
        log.debug({ err: (error as Error).message }, 'content stream ended with an error');
        stream.abort(error as Error);
      }
    },
    { maxInboundStreams: MAX_INBOUND_STREAMS },
  );
}

export async function stopServingContent(libp2p: Libp2p): Promise<void> {
  await libp2p.unhandle(CONTENT_PROTOCOL);
}

async function answerRequests(stream: Stream, options: ServeContentOptions): Promise<void> {
  for await (const { header } of new FrameReader(stream)) {
    if (header.type === 'have') {
      const manifest = await options.store.manifest(header.root);
      await sendFrame(stream, manifest ? { type: 'has', root: header.root, size: manifest.size } : { type: 'dont-have', root: header.root });
    } else if (header.type === 'want') {
      const answer = await blockFor(header, options.store);
      if ('reason' in answer) await sendFrame(stream, { type: 'dont-have', id: header.id, cid: header.cid, reason: answer.reason });
      else {
        await sendFrame(stream, { type: 'block', id: header.id, cid: header.cid }, answer.bytes);
        options.onServed?.(answer.bytes.byteLength);
      }
    }
    // Anything else is an answer nobody asked us for: ignored.
  }
}

async function blockFor(want: Extract<ExchangeHeader, { type: 'want' }>, store: ContentStore): Promise<{ bytes: Uint8Array } | { reason: string }> {
  try {
    if (want.offset !== undefined && want.length !== undefined) return { bytes: await store.readRange(want.root, want.offset, want.length) };
    if (!(await store.manifest(want.root))) return { reason: 'root not held' };
    const bytes = await store.getBlock(parseCid(want.cid));
    return bytes ? { bytes } : { reason: 'block not held' };
  } catch (error) {
    return { reason: (error as Error).message.slice(0, 500) };
  }
}
