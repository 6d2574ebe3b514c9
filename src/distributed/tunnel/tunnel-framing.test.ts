import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { generateNodeKey } from '../../identity/index.js';
import { silentLogger } from '../../log/index.js';
import { startEngineProcess, stopEngineProcess } from '../engine-process.js';
import type { RpcWorkerLauncher } from '../rpc-worker.js';
import { StageConnection } from '../stage-connection.js';
import { StageService } from '../stage-service.js';
import { FRAME_HEADER_BYTES, FrameType } from './tunnel-framing.js';
import { TAG_BYTES } from './tunnel-cipher.js';

// Attacks on the tunnel's own framing (protocol 2), by a man in the middle on real loopback sockets: a proxy
// between the head and the provider that passes the WebSocket handshake untouched, then cuts the bytes into the
// tunnel's frames and tampers with, replays, reorders, drops or truncates one. Whatever it does, no byte of a frame
// that failed reaches the socket behind the tunnel, and the tunnel closes. An in-process echo server stands where
// ggml-rpc-server would, a sleeping process for its supervised process.

const workerKey = generateNodeKey();
const headKey = generateNodeKey();
const logger = silentLogger();

type Direction = 'toWorker' | 'toHead';
interface WireFrame {
  type: number;
  length: number;
  bytes: Buffer;
}
/**
 * What the proxy forwards in place of one data frame: bytes, a cut (these bytes, then the connection ends) or a
 * swap (the frame after it first, then this one); undefined passes it on untouched.
 */
type AttackResult = Buffer[] | { cut: Buffer } | { swap: true };
type Attack = (direction: Direction, index: number, frame: WireFrame) => AttackResult | undefined;

/**
 * One direction of a proxied connection cut into pieces: the HTTP upgrade, `webSocketFrames` WebSocket frames of
 * the handshake (passed on whole), then the tunnel's frames.
 */
class WireSplitter {
  private buffer = Buffer.alloc(0);
  private httpDone = false;

  constructor(private webSocketFrames: number) {}

  push(chunk: Buffer): ({ raw: Buffer } | { frame: WireFrame })[] {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    const out: ({ raw: Buffer } | { frame: WireFrame })[] = [];
    for (;;) {
      if (!this.httpDone) {
        const end = this.buffer.indexOf('\r\n\r\n');
        if (end < 0) return out;
        out.push({ raw: this.take(end + 4) });
        this.httpDone = true;
      } else if (this.webSocketFrames > 0) {
        if (this.buffer.length < 2) return out;
        const short = this.buffer[1]! & 0x7f;
        const extended = short === 126 ? 2 : short === 127 ? 8 : 0;
        if (this.buffer.length < 2 + extended) return out;
        const payload = short === 126 ? this.buffer.readUInt16BE(2) : short === 127 ? Number(this.buffer.readBigUInt64BE(2)) : short;
        const total = 2 + extended + (this.buffer[1]! & 0x80 ? 4 : 0) + payload;
        if (this.buffer.length < total) return out;
        out.push({ raw: this.take(total) });
        this.webSocketFrames--;
      } else {
        if (this.buffer.length < FRAME_HEADER_BYTES) return out;
        const length = this.buffer.readUInt32BE(1);
        const total = FRAME_HEADER_BYTES + length + TAG_BYTES;
        if (this.buffer.length < total) return out;
        const type = this.buffer[0]!;
        out.push({ frame: { type, length, bytes: this.take(total) } });
      }
    }
  }

  private take(n: number): Buffer {
    const piece = this.buffer.subarray(0, n);
    this.buffer = this.buffer.subarray(n);
    return piece;
  }
}

interface ProxyRecord {
  /** Plaintext bytes of the data frames passed on whole before the attack, per direction, on the attacked connection. */
  released: Record<Direction, number>;
  attacked: boolean;
}

/** A man in the middle on loopback: connection 0 (the stage's control channel) passes untouched, later ones meet `attack`. */
async function startProxy(target: string, attack: Attack): Promise<{ url: string; record: ProxyRecord; close: () => Promise<void> }> {
  const { hostname, port } = new URL(target);
  const record: ProxyRecord = { released: { toWorker: 0, toHead: 0 }, attacked: false };
  const sockets = new Set<Socket>();
  let connections = 0;
  const server = createServer((head) => {
    const attacked = connections++ > 0;
    const worker = connect({ host: hostname, port: Number(port) });
    for (const socket of [head, worker]) {
      sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => {
        sockets.delete(socket);
        head.destroy();
        worker.destroy();
      });
    }
    const relay = (from: Socket, to: Socket, direction: Direction, splitter: WireSplitter) => {
      let index = 0;
      /** A frame held back by a swap, passed on after the next one. */
      let held: Buffer | undefined;
      let cut = false;
      from.on('data', (chunk: Buffer) => {
        for (const piece of cut ? [] : splitter.push(chunk)) {
          if ('raw' in piece) {
            to.write(piece.raw);
            continue;
          }
          const { frame } = piece;
          if (held) {
            to.write(frame.bytes);
            to.write(held);
            held = undefined;
            continue;
          }
          const result = attacked && frame.type === FrameType.data && !record.attacked ? attack(direction, index++, frame) : undefined;
          if (!result) {
            if (attacked && frame.type === FrameType.data && !record.attacked) record.released[direction] += frame.length;
            to.write(frame.bytes);
            continue;
          }
          record.attacked = true;
          if ('cut' in result) {
            cut = true;
            to.end(result.cut);
            return;
          }
          if ('swap' in result) {
            held = frame.bytes;
            continue;
          }
          // A replay passes the frame itself on first, whole.
          if (result[0] === frame.bytes) record.released[direction] += frame.length;
          for (const bytes of result) to.write(bytes);
        }
      });
    };
    relay(head, worker, 'toWorker', new WireSplitter(1));
    relay(worker, head, 'toHead', new WireSplitter(2));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`,
    record,
    close: async () => {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/**
 * Sends `payload` into the tunnel's local port and keeps what comes back until the tunnel closes it (20 s at most):
 * in one write, or in messages of `messageBytes`, each sent once the previous one came back whole, so that each
 * crosses the tunnel as one frame each way and finds the sockets behind the tunnel idle (a byte released early
 * would reach them at once).
 */
async function sendThrough(address: string, payload: Buffer, messageBytes?: number): Promise<Buffer> {
  const [host, port] = address.split(':') as [string, string];
  const socket = connect({ host, port: Number(port) });
  const chunks: Buffer[] = [];
  let received = 0;
  let nextMessage = 0;
  const sendMessage = () => {
    if (nextMessage >= payload.length) return;
    socket.write(payload.subarray(nextMessage, nextMessage + messageBytes!));
    nextMessage += messageBytes!;
  };
  socket.on('data', (data: Buffer) => {
    chunks.push(data);
    received += data.length;
    if (messageBytes && received === nextMessage) sendMessage();
  });
  socket.on('error', () => undefined);
  if (messageBytes) sendMessage();
  else socket.write(payload);
  const closed = await Promise.race([new Promise<boolean>((resolve) => socket.once('close', () => resolve(true))), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 20_000).unref())]);
  socket.destroy();
  assert.ok(closed, 'the tunnel did not close its local connection within 20 s');
  return Buffer.concat(chunks);
}

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('attacks on the frames of a tunnel, by a man in the middle on loopback', () => {
  let echo: Server;
  /** Bytes the worker's RPC server (the echo) received, all connections together. */
  let echoed = 0;
  let service: StageService;

  before(async () => {
    echo = createServer((socket) => {
      socket.on('data', (data: Buffer) => (echoed += data.length));
      socket.on('error', () => undefined);
      socket.pipe(socket);
    });
    await new Promise<void>((resolve) => echo.listen(0, '127.0.0.1', resolve));
    const { port } = echo.address() as AddressInfo;
    const launcher: RpcWorkerLauncher = {
      kind: 'process',
      launch: async () => {
        const process = startEngineProcess('sleep', ['60']);
        return { process, ready: async () => true, connect: async () => connect({ host: '127.0.0.1', port }), stop: () => stopEngineProcess(process) };
      },
    };
    service = await StageService.listen({ key: workerKey, host: '127.0.0.1', port: 0, heads: [headKey.publicKey], launcher, threads: 1, memoryBytes: 2 ** 30, limits: { maxStages: 4 }, logger });
  });

  after(async () => {
    await service?.close();
    await new Promise((resolve) => echo?.close(resolve));
  });

  const flip = (bytes: Buffer, at: number) => {
    const copy = Buffer.from(bytes);
    copy[at] = copy[at]! ^ 0x01;
    return copy;
  };
  const header = (type: number, length: number) => {
    const bytes = Buffer.alloc(FRAME_HEADER_BYTES);
    bytes[0] = type;
    bytes.writeUInt32BE(length, 1);
    return bytes;
  };
  const ATTACKED = 2;
  // Messages of 1000 bytes, one frame each, unless a case needs frames back to back (a swap waits for the next frame).
  const cases: { name: string; direction: Direction; attack: (frame: WireFrame) => AttackResult; bulk?: true }[] = [
    { name: 'a bit of ciphertext flipped', direction: 'toHead', attack: (f) => [flip(f.bytes, FRAME_HEADER_BYTES + 7)] },
    { name: 'a bit of the tag flipped', direction: 'toHead', attack: (f) => [flip(f.bytes, f.bytes.length - 1)] },
    { name: 'the length prefix changed', direction: 'toHead', attack: (f) => [Buffer.concat([header(FrameType.data, f.length - 1), f.bytes.subarray(FRAME_HEADER_BYTES)])] },
    { name: 'the frame type changed (data read as close)', direction: 'toHead', attack: (f) => [Buffer.concat([header(FrameType.close, Math.min(f.length, 100)), f.bytes.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + Math.min(f.length, 100) + TAG_BYTES)])] },
    { name: 'a frame replayed', direction: 'toHead', attack: (f) => [f.bytes, f.bytes] },
    { name: 'two frames swapped', direction: 'toHead', attack: () => ({ swap: true }), bulk: true },
    // A dropped frame shows when the next one comes: frames back to back.
    { name: 'a frame dropped', direction: 'toHead', attack: () => [], bulk: true },
    { name: 'a frame cut short and the connection ended', direction: 'toHead', attack: (f) => ({ cut: f.bytes.subarray(0, f.bytes.length >> 1) }) },
    { name: 'a length prefix of 4 GiB, with no body after it', direction: 'toHead', attack: () => [header(FrameType.data, 0xffffffff)] },
    { name: 'a frame of an unknown type', direction: 'toHead', attack: (f) => [Buffer.concat([header(7, f.length), f.bytes.subarray(FRAME_HEADER_BYTES)])] },
    { name: 'a bit of ciphertext flipped toward the worker', direction: 'toWorker', attack: (f) => [flip(f.bytes, FRAME_HEADER_BYTES + 3)] },
    { name: 'a frame replayed toward the worker', direction: 'toWorker', attack: (f) => [f.bytes, f.bytes] },
  ];

  for (const testCase of cases) {
    it(`closes the tunnel and passes on no byte of the failed frame: ${testCase.name}`, async () => {
      const proxy = await startProxy(service.url, (direction, index, frame) => (direction === testCase.direction && index === ATTACKED ? testCase.attack(frame) : undefined));
      const stage = await StageConnection.open({ endpoint: { url: proxy.url, pubkey: workerKey.publicKey }, key: headKey, jobId: `attack-${cases.indexOf(testCase)}` });
      try {
        const echoedBefore = echoed;
        const payload = randomBytes(testCase.bulk ? 2 * 2 ** 20 : 8 * 1000);
        const received = await sendThrough(stage.rpcAddress, payload, testCase.bulk ? undefined : 1000);
        assert.ok(proxy.record.attacked, 'the attack took place');
        if (testCase.direction === 'toHead') {
          assert.ok(received.length <= proxy.record.released.toHead, `${received.length} bytes reached the head's socket, only ${proxy.record.released.toHead} were in frames before the attacked one`);
        } else {
          assert.ok(echoed - echoedBefore <= proxy.record.released.toWorker, `${echoed - echoedBefore} bytes reached the worker's socket, only ${proxy.record.released.toWorker} were in frames before the attacked one`);
        }
        assert.equal(sha(received), sha(payload.subarray(0, received.length)), 'what came back is what was sent, in order');
        assert.ok(received.length < payload.length, 'the tunnel closed before the whole payload came back');
      } finally {
        await stage.close();
        await proxy.close();
      }
    });
  }

  it('carries a payload whole through the same proxy when nothing is attacked', async () => {
    const proxy = await startProxy(service.url, () => undefined);
    const stage = await StageConnection.open({ endpoint: { url: proxy.url, pubkey: workerKey.publicKey }, key: headKey, jobId: 'no-attack' });
    try {
      const payload = randomBytes(2 * 2 ** 20);
      const [host, port] = stage.rpcAddress.split(':') as [string, string];
      const socket = connect({ host, port: Number(port) });
      const chunks: Buffer[] = [];
      let got = 0;
      await new Promise<void>((resolve, reject) => {
        socket.on('data', (data: Buffer) => {
          chunks.push(data);
          got += data.length;
          if (got >= payload.length) resolve();
        });
        socket.on('close', () => reject(new Error(`closed after ${got} bytes`)));
        socket.write(payload);
      });
      socket.destroy();
      assert.equal(sha(Buffer.concat(chunks)), sha(payload));
    } finally {
      await stage.close();
      await proxy.close();
    }
  });

  it("refuses at its header a frame that would pass the head's byte budget", async () => {
    const budget = 256 * 1024;
    const stage = await StageConnection.open({ endpoint: { url: service.url, pubkey: workerKey.publicKey }, key: headKey, jobId: 'head-budget', maxBytes: budget });
    try {
      const received = await sendThrough(stage.rpcAddress, randomBytes(4 * 2 ** 20));
      assert.ok(received.length <= budget, `${received.length} bytes came back through a ${budget}-byte budget`);
    } finally {
      await stage.close();
    }
  });
});

describe('a slow reader at the end of a tunnel', () => {
  it('slows the writer at the other end, holding a bounded amount in memory, and loses nothing', async () => {
    // The worker's RPC server reads nothing until told: the head's local writer must be held back, all the way.
    let sink: Socket | undefined;
    const sunk: Buffer[] = [];
    const server = createServer((socket) => {
      sink = socket;
      socket.pause();
      socket.on('data', (data: Buffer) => sunk.push(data));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const launcher: RpcWorkerLauncher = {
      kind: 'process',
      launch: async () => {
        const process = startEngineProcess('sleep', ['60']);
        return { process, ready: async () => true, connect: async () => connect({ host: '127.0.0.1', port }), stop: () => stopEngineProcess(process) };
      },
    };
    const service = await StageService.listen({ key: workerKey, host: '127.0.0.1', port: 0, heads: [headKey.publicKey], launcher, threads: 1, memoryBytes: 2 ** 30, logger });
    const stage = await StageConnection.open({ endpoint: { url: service.url, pubkey: workerKey.publicKey }, key: headKey, jobId: 'slow-reader' });
    const [host, localPort] = stage.rpcAddress.split(':') as [string, string];
    const writer = connect({ host, port: Number(localPort) });
    try {
      await new Promise((resolve) => writer.once('connect', resolve));
      const total = 160 * 2 ** 20;
      const chunk = randomBytes(2 ** 20);
      const memoryBefore = process.memoryUsage().arrayBuffers;
      let accepted = 0;
      let peakMemory = 0;
      // Write until the writer has waited a second for a drain that does not come: the tunnel holds it back.
      while (accepted < total) {
        const flowing = writer.write(chunk);
        accepted += chunk.length;
        peakMemory = Math.max(peakMemory, process.memoryUsage().arrayBuffers - memoryBefore);
        if (flowing) continue;
        const drained = await Promise.race([new Promise<boolean>((resolve) => writer.once('drain', () => resolve(true))), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 1_000))]);
        if (!drained) break;
      }
      console.log(`slow reader: the writer was held at ${(accepted / 2 ** 20).toFixed(0)} MiB, ${(peakMemory / 2 ** 20).toFixed(1)} MiB more memory at most`);
      assert.ok(accepted < total / 2, `the writer was let write ${accepted / 2 ** 20} MiB into a tunnel whose reader reads nothing`);
      assert.ok(peakMemory < 48 * 2 ** 20, `${(peakMemory / 2 ** 20).toFixed(1)} MiB more memory held while the reader waited`);
      // The reader reads again: every byte arrives, in order.
      const expected = accepted;
      sink!.resume();
      for (let i = 0; i < 600 && sunk.reduce((n, b) => n + b.length, 0) < expected; i++) await new Promise((resolve) => setTimeout(resolve, 50));
      const all = Buffer.concat(sunk);
      assert.equal(all.length, expected);
      for (let offset = 0; offset < all.length; offset += chunk.length) assert.ok(all.subarray(offset, offset + chunk.length).equals(chunk), `bytes at ${offset} differ`);
    } finally {
      writer.destroy();
      await stage.close();
      await service.close();
      sink?.destroy();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
