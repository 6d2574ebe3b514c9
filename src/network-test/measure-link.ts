// The testing side of `infernet net test`: ping round trips, then a bounded upload and download over one
// authenticated session with the peer, like iperf over the project's own transport.
import { randomUUID } from 'node:crypto';
import type { ErrorCode, Frame, FrameOf } from '../protocol/index.js';
import type { PeerSession } from '../transport/index.js';
import { NET_DATA_OVERHEAD_BYTES } from './net-test-responder.js';
import { summarizeLatency, throughputOf, type LinkMeasurement, type ThroughputFigure } from './net-test-result.js';
import { TestDataSender } from './test-data-sender.js';
import { InfernetError } from '../errors/index.js';

export interface MeasureLinkOptions {
  /** Ping round trips to time (sequential). */
  pings?: number;
  /** Pause between pings, so they sample the link over a while instead of in one burst. */
  pingIntervalMs?: number;
  /** Bytes per direction, at most. */
  bytes?: number;
  /** Seconds per direction, at most. */
  seconds?: number;
  /** This node's frame size limit: the payload per frame stays below it (and below the peer's). */
  maxFrameBytes: number;
  /** How long to wait for any one answer of the peer. */
  answerTimeoutMs?: number;
}

export const DEFAULT_NET_TEST = { pings: 30, pingIntervalMs: 10, bytes: 16 * 1024 * 1024, seconds: 5 } as const;
/** Payload per frame unless the frame size limits are lower: large enough that frame costs do not dominate. */
const PREFERRED_CHUNK_BYTES = 256 * 1024;

/**
 * The peer refused the test or went away during it. `reason`: the peer's wire code, `closed` (the session closed)
 * or `timeout` (no answer in time), both provider_unreachable on the wire.
 */
export class NetTestFailedError extends InfernetError {
  override readonly name = 'NetTestFailedError';
  constructor(
    readonly reason: ErrorCode | 'closed' | 'timeout',
    message: string,
  ) {
    super(reason === 'closed' || reason === 'timeout' ? 'provider_unreachable' : reason, message);
  }
}

export async function measureLink(session: PeerSession, options: MeasureLinkOptions): Promise<LinkMeasurement> {
  const tester = new LinkTester(session, options.answerTimeoutMs ?? 10_000);
  try {
    const rtts = await tester.ping(options.pings ?? DEFAULT_NET_TEST.pings, options.pingIntervalMs ?? DEFAULT_NET_TEST.pingIntervalMs);
    const minRtt = Math.min(...rtts);
    const transfer = { bytes: options.bytes ?? DEFAULT_NET_TEST.bytes, seconds: options.seconds ?? DEFAULT_NET_TEST.seconds, chunkBytes: Math.min(PREFERRED_CHUNK_BYTES, options.maxFrameBytes - NET_DATA_OVERHEAD_BYTES) };
    const upload = await tester.upload(transfer, minRtt);
    const download = await tester.download(transfer, minRtt);
    return { latency: summarizeLatency(rtts), upload: upload.figure, download, chunkBytes: upload.chunkBytes };
  } finally {
    tester.detach();
  }
}

interface Transfer {
  bytes: number;
  seconds: number;
  chunkBytes: number;
}

/** Routes the session's net frames to whatever the test is waiting for. */
class LinkTester {
  private handler: (frame: Frame) => void = () => undefined;
  private failure?: (error: NetTestFailedError) => void;
  private readonly detachers: Array<() => void>;

  constructor(
    private readonly session: PeerSession,
    private readonly answerTimeoutMs: number,
  ) {
    this.detachers = [
      session.onFrame((frame) => {
        if (frame.type === 'error') this.failure?.(new NetTestFailedError(frame.code, `the peer refused: ${frame.message}`));
        else this.handler(frame);
      }),
      session.onClose((reason) => this.failure?.(new NetTestFailedError('closed', `the session with the peer closed: ${reason}`))),
    ];
  }

  detach(): void {
    for (const detach of this.detachers) detach();
  }

  async ping(count: number, intervalMs: number): Promise<number[]> {
    const rtts: number[] = [];
    for (let seq = 0; seq < count; seq++) {
      const sent = performance.now();
      await this.until((frame, done) => {
        if (frame.type === 'net.pong' && frame.seq === seq) done(undefined);
      }, () => this.session.send({ type: 'net.ping', seq, ts: Math.round(sent * 1000) / 1000 }));
      rtts.push(performance.now() - sent);
      if (intervalMs > 0 && seq < count - 1) await new Promise((resolve) => setTimeout(resolve, intervalMs));
    }
    return rtts;
  }

  async upload(transfer: Transfer, minRtt: number): Promise<{ figure: ThroughputFigure; chunkBytes: number }> {
    const testId = `net-${randomUUID()}`;
    const ready = await this.start(testId, 'upload', transfer);
    const started = performance.now();
    const sender = new TestDataSender(this.session, testId, transfer.bytes, ready.chunkBytes, transfer.seconds);
    this.handler = (frame) => {
      if (frame.type === 'net.ack') sender.ack(frame);
      else if (frame.type === 'net.test.end' && frame.testId === testId) sender.abandon();
    };
    let failed: NetTestFailedError | undefined;
    this.failure = (error) => {
      failed = error;
      sender.abandon();
    };
    const outcome = await sender.done;
    this.handler = () => undefined;
    this.failure = undefined;
    if (failed) throw failed;
    if (outcome.bytes < transfer.bytes) this.session.send({ type: 'net.test.end', testId, reason: 'time limit' });
    if (!this.session.isOpen) throw new NetTestFailedError('closed', 'the session with the peer closed during the upload');
    return { figure: throughputOf(outcome.bytes, outcome.lastAckAt - started, minRtt, outcome.limitedBy), chunkBytes: ready.chunkBytes };
  }

  async download(transfer: Transfer, minRtt: number): Promise<ThroughputFigure> {
    const testId = `net-${randomUUID()}`;
    let received = 0;
    let lastAt = 0;
    let started = 0;
    const deadline = transfer.seconds * 1000;
    let limitedBy: ThroughputFigure['limitedBy'] = 'bytes';
    await this.until(
      (frame, done) => {
        if (frame.type === 'net.test.end' && frame.testId === testId) return done(undefined);
        if (frame.type !== 'net.data' || frame.testId !== testId) return;
        received += frame.payload.length;
        lastAt = performance.now();
        this.session.send({ type: 'net.ack', testId, seq: frame.seq, bytes: received });
        if (received >= transfer.bytes) return done(undefined);
        if (lastAt - started >= deadline) {
          limitedBy = 'seconds';
          this.session.send({ type: 'net.test.end', testId, reason: 'time limit' });
          done(undefined);
        }
      },
      () => {
        started = performance.now();
        this.session.send({ type: 'net.test.start', testId, direction: 'download', bytes: transfer.bytes, seconds: transfer.seconds, chunkBytes: transfer.chunkBytes });
      },
      deadline + this.answerTimeoutMs,
    );
    this.handler = () => undefined;
    if (received === 0) throw new NetTestFailedError('timeout', 'the peer sent no test data');
    return throughputOf(received, lastAt - started, minRtt, limitedBy);
  }

  private start(testId: string, direction: 'upload' | 'download', transfer: Transfer): Promise<FrameOf<'net.test.ready'>> {
    return this.until<FrameOf<'net.test.ready'>>(
      (frame, done) => {
        if (frame.type === 'net.test.ready' && frame.testId === testId) done(frame);
      },
      () => this.session.send({ type: 'net.test.start', testId, direction, bytes: transfer.bytes, seconds: transfer.seconds, chunkBytes: transfer.chunkBytes }),
    );
  }

  /** Sends, then feeds every net frame to `watch` until it calls done; fails on an error frame, a close or the timeout. */
  private until<T>(watch: (frame: Frame, done: (value: T) => void) => void, send: () => void, timeoutMs = this.answerTimeoutMs): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => settle(() => reject(new NetTestFailedError('timeout', `the peer did not answer within ${timeoutMs} ms`))), timeoutMs);
      let settled = false;
      const settle = (action: () => void) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        this.handler = () => undefined;
        this.failure = undefined;
        action();
      };
      this.handler = (frame) => watch(frame, (value) => settle(() => resolve(value)));
      this.failure = (error) => settle(() => reject(error));
      if (!this.session.isOpen) return settle(() => reject(new NetTestFailedError('closed', 'the session with the peer is closed')));
      send();
    });
  }
}
