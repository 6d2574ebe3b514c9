// A TCP proxy on 127.0.0.1 that adds a one-way delay and a rate limit in each direction, for tests of
// `net test` on a slow link. It stands in for `tc netem`, which this machine's kernel lacks: userspace timers
// give millisecond precision, enough for delays of tens of milliseconds and rates of tens of Mbit/s.
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

export interface LinkEmulation {
  /** Added to every byte's trip, each way. */
  delayMs: number;
  /** Serialisation rate of the link, each way; unlimited when absent. */
  bitsPerSecond?: number;
}

/** Bytes the proxy holds for one direction before it stops reading: the link's buffer. */
const MAX_QUEUED_BYTES = 256 * 1024;

/** Which way bytes went through the proxy: towards the proxied port (a client's upload) or back from it. */
export type ProxyDirection = 'toTarget' | 'fromTarget';

export class LinkEmulatingProxy {
  private readonly sockets = new Set<Socket>();
  /** Every chunk handed on, when and how large, per direction (all connections). */
  readonly deliveries: Record<ProxyDirection, Array<{ at: number; bytes: number }>> = { toTarget: [], fromTarget: [] };

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** Proxies 127.0.0.1:<port> to `target`'s port with the emulation applied to both directions. */
  static async start(targetPort: number, emulation: LinkEmulation): Promise<LinkEmulatingProxy> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(0, '127.0.0.1', () => resolve()));
    const proxy = new LinkEmulatingProxy(server, (server.address() as AddressInfo).port);
    server.on('connection', (client) => {
      const upstream = createConnection({ host: '127.0.0.1', port: targetPort });
      for (const socket of [client, upstream]) {
        socket.setNoDelay(true);
        proxy.sockets.add(socket);
        socket.once('close', () => proxy.sockets.delete(socket));
        socket.on('error', () => {
          client.destroy();
          upstream.destroy();
        });
      }
      new EmulatedDirection(client, upstream, emulation, proxy.deliveries.toTarget);
      new EmulatedDirection(upstream, client, emulation, proxy.deliveries.fromTarget);
    });
    return proxy;
  }

  /**
   * The rate the link actually carried a bulk transfer at, in bit/s: the bytes of chunks of at least `minChunkBytes`
   * (pings and acks are smaller) over the span from the first to the last of them. Timers fire late on a loaded
   * machine, so this can fall below the configured rate: a measurement is judged against what the link did.
   */
  deliveredBitsPerSecond(direction: ProxyDirection, minChunkBytes = 4096): number {
    const bulk = this.deliveries[direction].filter((delivery) => delivery.bytes >= minChunkBytes);
    if (bulk.length < 2) return 0;
    // The first chunk's bytes left before the span began: only those after it are counted against the span.
    const bytes = bulk.slice(1).reduce((sum, delivery) => sum + delivery.bytes, 0);
    return (bytes * 8 * 1000) / (bulk.at(-1)!.at - bulk[0]!.at);
  }

  async close(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** One direction: chunks leave in order, each after its serialisation on the link and the delay. */
class EmulatedDirection {
  private readonly queue: Array<{ chunk: Buffer; deliverAt: number }> = [];
  private queuedBytes = 0;
  private linkFreeAt = 0;
  private timer?: NodeJS.Timeout;
  private ended = false;

  constructor(
    private readonly from: Socket,
    private readonly to: Socket,
    private readonly emulation: LinkEmulation,
    private readonly delivered: Array<{ at: number; bytes: number }>,
  ) {
    from.on('data', (chunk: Buffer) => this.enqueue(chunk));
    from.on('end', () => {
      this.ended = true;
      this.drain();
    });
  }

  private enqueue(chunk: Buffer): void {
    const now = performance.now();
    const serialiseMs = this.emulation.bitsPerSecond ? (chunk.length * 8 * 1000) / this.emulation.bitsPerSecond : 0;
    this.linkFreeAt = Math.max(now, this.linkFreeAt) + serialiseMs;
    this.queue.push({ chunk, deliverAt: this.linkFreeAt + this.emulation.delayMs });
    this.queuedBytes += chunk.length;
    if (this.queuedBytes > MAX_QUEUED_BYTES) this.from.pause();
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || !this.queue.length) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.drain();
    }, Math.max(0, this.queue[0]!.deliverAt - performance.now()));
  }

  private drain(): void {
    const now = performance.now();
    while (this.queue.length && this.queue[0]!.deliverAt <= now) {
      const { chunk } = this.queue.shift()!;
      this.queuedBytes -= chunk.length;
      if (!this.to.destroyed) this.to.write(chunk);
      this.delivered.push({ at: performance.now(), bytes: chunk.length });
    }
    if (this.queuedBytes <= MAX_QUEUED_BYTES / 2 && this.from.isPaused()) this.from.resume();
    if (this.queue.length) this.schedule();
    else if (this.ended && !this.to.destroyed) this.to.end();
  }
}
