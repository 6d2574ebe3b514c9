// Sends a network test's net.data frames with a bounded window of unacknowledged frames, so a slow link is
// measured at its own pace instead of being buried under buffered data. Used by both ends: the tester for an
// upload, the answering node for a download.
import { randomBytes } from 'node:crypto';
import type { FrameOf } from '../protocol/index.js';
import type { PeerSession } from '../transport/index.js';

/** Frames in flight before the sender waits for an ack. */
export const NET_TEST_WINDOW_FRAMES = 8;

export interface SendOutcome {
  bytes: number;
  /** performance.now() of the last ack. */
  lastAckAt: number;
  limitedBy: 'bytes' | 'seconds';
}

export class TestDataSender {
  readonly done: Promise<SendOutcome>;
  private seq = 0;
  private sentBytes = 0;
  private ackedBytes = 0;
  private inFlight = 0;
  private lastAckAt = performance.now();
  private stopped = false;
  private settled = false;
  private limitedBy: 'bytes' | 'seconds' = 'bytes';
  private readonly filler: string;
  private readonly timer: NodeJS.Timeout;
  private finish!: (outcome: SendOutcome) => void;

  constructor(
    private readonly session: PeerSession,
    private readonly testId: string,
    private readonly bytes: number,
    private readonly chunkBytes: number,
    seconds: number,
  ) {
    this.filler = randomBytes(Math.ceil((chunkBytes * 3) / 4)).toString('base64').slice(0, chunkBytes);
    this.done = new Promise((resolve) => (this.finish = resolve));
    this.timer = setTimeout(() => this.stop('seconds'), seconds * 1000);
    this.pump();
  }

  ack(frame: FrameOf<'net.ack'>): void {
    if (frame.testId !== this.testId || this.inFlight === 0) return;
    this.inFlight--;
    this.ackedBytes = Math.min(frame.bytes, this.sentBytes);
    this.lastAckAt = performance.now();
    if (this.stopped && this.inFlight === 0) return this.settle(this.limitedBy);
    if (this.ackedBytes >= this.bytes) return this.stop('bytes');
    this.pump();
  }

  /** Sends nothing more; settles once what is in flight is acknowledged (or at once when nothing is). */
  stop(reason: 'bytes' | 'seconds'): void {
    if (this.stopped) return;
    this.stopped = true;
    this.limitedBy = reason;
    clearTimeout(this.timer);
    if (this.inFlight === 0) this.settle(reason);
  }

  /** The session closed or the test was ended: settle with what was acknowledged. */
  abandon(): void {
    this.stopped = true;
    clearTimeout(this.timer);
    this.settle(this.limitedBy);
  }

  private pump(): void {
    while (!this.stopped && this.inFlight < NET_TEST_WINDOW_FRAMES && this.sentBytes < this.bytes) {
      const size = Math.min(this.chunkBytes, this.bytes - this.sentBytes);
      const payload = size === this.filler.length ? this.filler : this.filler.slice(0, size);
      if (!this.session.send({ type: 'net.data', testId: this.testId, seq: this.seq++, payload })) return this.abandon();
      this.sentBytes += size;
      this.inFlight++;
    }
  }

  private settle(limitedBy: 'bytes' | 'seconds'): void {
    if (this.settled) return;
    this.settled = true;
    this.finish({ bytes: this.ackedBytes, lastAckAt: this.lastAckAt, limitedBy });
  }
}
