// The answering side of `infernet net test`, on every node with a listener: echoes pings, takes test data up to
// the byte budget the tester announced, and sends data back for a download. One test at a time per session,
// a few per node; test data outside a started test closes the session (it is exempt from the frame rate).
import type { Frame, FrameOf } from '../protocol/index.js';
import type { PeerSession } from '../transport/index.js';
import { TestDataSender } from './test-data-sender.js';

/** Room for a net.data frame's fields around its payload. */
export const NET_DATA_OVERHEAD_BYTES = 256;
export const MAX_CONCURRENT_NET_TESTS = 4;
/** A test the tester abandons is dropped this long after its own time limit. */
const GRACE_MS = 5_000;
const CLOSE_POLICY = 1008;

const NET_FRAME_TYPES = new Set<Frame['type']>(['net.ping', 'net.pong', 'net.test.start', 'net.test.ready', 'net.data', 'net.ack', 'net.test.end']);

export function isNetTestFrame(frame: Frame): boolean {
  return NET_FRAME_TYPES.has(frame.type);
}

interface ActiveTest {
  start: FrameOf<'net.test.start'>;
  received: number;
  sender?: TestDataSender;
  timer: NodeJS.Timeout;
}

export interface NetTestResponderOptions {
  /** This node's frame size limit: net.data payloads are kept below it. */
  maxFrameBytes: number;
  maxConcurrentTests?: number;
}

export class NetTestResponder {
  private readonly active = new Map<PeerSession, ActiveTest>();

  constructor(private readonly options: NetTestResponderOptions) {}

  get activeTests(): number {
    return this.active.size;
  }

  attach(session: PeerSession): void {
    session.onFrame((frame) => {
      if (frame.type === 'net.ping') session.send({ type: 'net.pong', seq: frame.seq, ts: frame.ts });
      else if (frame.type === 'net.test.start') this.start(session, frame);
      else if (frame.type === 'net.data') this.receive(session, frame);
      else if (frame.type === 'net.ack') this.active.get(session)?.sender?.ack(frame);
      else if (frame.type === 'net.test.end') this.end(session, frame.testId);
    });
    session.onClose(() => this.end(session, undefined));
  }

  private start(session: PeerSession, start: FrameOf<'net.test.start'>): void {
    if (this.active.has(session)) return session.sendError('busy', 'a network test is already running on this session');
    if (this.active.size >= (this.options.maxConcurrentTests ?? MAX_CONCURRENT_NET_TESTS)) return session.sendError('busy', 'this node runs as many network tests as it allows; try again shortly');
    const chunkBytes = Math.min(start.chunkBytes, this.options.maxFrameBytes - NET_DATA_OVERHEAD_BYTES);
    const timer = setTimeout(() => {
      session.send({ type: 'net.test.end', testId: start.testId, reason: 'time limit' });
      this.end(session, start.testId);
    }, start.seconds * 1000 + GRACE_MS);
    const test: ActiveTest = { start, received: 0, timer };
    this.active.set(session, test);
    session.send({ type: 'net.test.ready', testId: start.testId, chunkBytes });
    if (start.direction === 'download') {
      test.sender = new TestDataSender(session, start.testId, start.bytes, chunkBytes, start.seconds);
      void test.sender.done.then(() => this.end(session, start.testId));
    }
  }

  private receive(session: PeerSession, data: FrameOf<'net.data'>): void {
    const test = this.active.get(session);
    if (!test || test.start.testId !== data.testId || test.start.direction !== 'upload') {
      session.sendError('invalid_frame', 'net.data outside a network test this node agreed to');
      return session.close('net.data outside a network test', CLOSE_POLICY);
    }
    test.received += data.payload.length;
    if (test.received > test.start.bytes) {
      session.sendError('invalid_frame', `more test data than the ${test.start.bytes} bytes announced`);
      return session.close('network test over its byte budget', CLOSE_POLICY);
    }
    session.send({ type: 'net.ack', testId: data.testId, seq: data.seq, bytes: test.received });
    if (test.received === test.start.bytes) this.end(session, data.testId);
  }

  /** Ends the session's test (any, when testId is undefined). */
  private end(session: PeerSession, testId: string | undefined): void {
    const test = this.active.get(session);
    if (!test || (testId !== undefined && test.start.testId !== testId)) return;
    clearTimeout(test.timer);
    test.sender?.abandon();
    this.active.delete(session);
  }
}
