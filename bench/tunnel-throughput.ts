// The cost of Infernet's stage tunnel by itself, without llama.cpp: an echo server in a child process stands
// where ggml-rpc-server would, reached once over direct loopback TCP and once through a StageService tunnel
// (authenticated by a WebSocket handshake, then AES-256-GCM sealed frames straight on TCP: protocol 2). Two shapes of traffic, as llama.cpp's RPC makes them: small
// request/answer round trips (a pipeline's per-token commands) and megabyte transfers (tensor parallelism moves
// several megabytes of activations per token). Rounds alternate direct and tunnel, so the machine's noise falls
// on both; the CPU this process spends per megabyte shows the tunnel's own cost. Beside it, the cost of AES-256-GCM
// alone in this Node (a megabyte echoed is sealed once and opened once at the head's end): the part of the tunnel's
// cost no framing removes; the rest is the extra loopback hops (each byte crosses two more sockets) and JavaScript.
// A third path puts the provider's end of the tunnel in a process of its own, as it is between two machines.
// Usage: node dist/bench/tunnel-throughput.js [rounds]
import { spawn } from 'node:child_process';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { StageConnection, StageService, type RpcWorkerLauncher } from '../src/distributed/index.js';
import { startEngineProcess, stopEngineProcess, tcpAccepts, waitUntilReady } from '../src/distributed/engine-process.js';
import { freeLoopbackPort } from '../src/processes/index.js';
import { generateNodeKey } from '../src/identity/index.js';
import { silentLogger } from '../src/log/index.js';

const WORKER_END_FLAG = '--worker-end';
const ROUNDS = Number(process.argv[2] === WORKER_END_FLAG ? 0 : (process.argv[2] ?? 5));
const ROUND_TRIPS = 2_000;
const SMALL_BYTES = 64;
const BULK_BYTES = 32 * 2 ** 20;
const BULK_WRITE_BYTES = 1 * 2 ** 20;
const ECHO_SERVER = "require('net').createServer((s) => { s.setNoDelay(true); s.pipe(s); }).listen(Number(process.argv[1]), '127.0.0.1')";

interface Sample {
  roundTripUs: number;
  bulkMBps: number;
  /** CPU of this process per megabyte echoed (sent and received back). */
  cpuMsPerMB: number;
}

/** A stage service whose "worker" is the echo server; a long sleep stands in for the worker's supervised process. */
function listenEchoStage(echoPort: number, head: string): Promise<StageService> {
  const launcher: RpcWorkerLauncher = {
    kind: 'process',
    launch: async () => {
      const process = startEngineProcess('sleep', ['600']);
      return { process, ready: async () => true, connect: async () => connect({ host: '127.0.0.1', port: echoPort }), stop: () => stopEngineProcess(process) };
    },
  };
  return StageService.listen({ key: workerKey, host: '127.0.0.1', port: 0, heads: [head], launcher, threads: 1, memoryBytes: 2 ** 30, logger: silentLogger() });
}

const workerKey = generateNodeKey();

/** The provider's end in a process of its own, as on a real provider: prints its URL and key, runs until stdin ends. */
async function runWorkerEnd(echoPort: number, head: string): Promise<void> {
  const service = await listenEchoStage(echoPort, head);
  console.log(JSON.stringify({ url: service.url, pubkey: workerKey.publicKey }));
  process.stdin.resume();
  process.stdin.on('end', () => void service.close().then(() => process.exit(0)));
}

async function startWorkerEndProcess(echoPort: number, head: string): Promise<{ url: string; pubkey: string; stop: () => void }> {
  const child = spawn(process.execPath, [fileURLToPath(import.meta.url), WORKER_END_FLAG, String(echoPort), head], { stdio: ['pipe', 'pipe', 'inherit'] });
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  return { ...(JSON.parse(line) as { url: string; pubkey: string }), stop: () => child.stdin!.end() };
}

async function main(): Promise<void> {
  const port = await freeLoopbackPort();
  const echo = startEngineProcess(process.execPath, ['-e', ECHO_SERVER, String(port)]);
  await waitUntilReady(echo, () => tcpAccepts(port), 10_000, 'echo server');
  const head = generateNodeKey();
  const service = await listenEchoStage(port, head.publicKey);
  const remote = await startWorkerEndProcess(port, head.publicKey);
  const stage = await StageConnection.open({ endpoint: { url: service.url, pubkey: workerKey.publicKey }, key: head, jobId: 'tunnel-bench' });
  const remoteStage = await StageConnection.open({ endpoint: remote, key: head, jobId: 'tunnel-bench-remote' });
  const addressOf = (connection: StageConnection) => connection.rpcAddress.split(':') as [string, string];
  const direct: Sample[] = [];
  const tunnel: Sample[] = [];
  const split: Sample[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      direct.push(await measure('127.0.0.1', port));
      tunnel.push(await measure(addressOf(stage)[0], Number(addressOf(stage)[1])));
      split.push(await measure(addressOf(remoteStage)[0], Number(addressOf(remoteStage)[1])));
    }
  } finally {
    await stage.close();
    await remoteStage.close();
    await service.close();
    remote.stop();
    await stopEngineProcess(echo);
  }
  const d = medians(direct);
  const t = medians(tunnel);
  const r = medians(split);
  const aes = aesGcmCpuMsPerMB();
  const own = (sample: Sample) => (sample.cpuMsPerMB - d.cpuMsPerMB).toFixed(2);
  console.log(`tunnel vs direct loopback TCP, median of ${ROUNDS} alternating rounds (${ROUND_TRIPS} round trips of ${SMALL_BYTES} B; ${BULK_BYTES / 2 ** 20} MiB echoed in ${BULK_WRITE_BYTES / 2 ** 20} MiB writes)`);
  console.log("| path | round trip µs | bulk MB/s | CPU ms per MB | the tunnel's own CPU ms per MB (less direct TCP's) |");
  console.log('| --- | --- | --- | --- | --- |');
  console.log(`| direct TCP | ${d.roundTripUs.toFixed(0)} | ${d.bulkMBps.toFixed(0)} | ${d.cpuMsPerMB.toFixed(2)} | |`);
  console.log(`| Infernet tunnel (both ends in this process) | ${t.roundTripUs.toFixed(0)} | ${t.bulkMBps.toFixed(0)} | ${t.cpuMsPerMB.toFixed(2)} | ${own(t)} |`);
  console.log(`| Infernet tunnel (provider's end in another process, as between machines) | ${r.roundTripUs.toFixed(0)} | ${r.bulkMBps.toFixed(0)} | ${r.cpuMsPerMB.toFixed(2)} (head's end only) | ${own(r)} |`);
  console.log(`AES-256-GCM alone in this Node (OpenSSL ${process.versions.openssl}), a MB sealed and a MB opened in 256 KiB frames: ${aes.toFixed(2)} ms (the least any tunnel end can spend per MB echoed)`);
  console.log(`tunnel added per round trip: ${(t.roundTripUs - d.roundTripUs).toFixed(0)} µs one process, ${(r.roundTripUs - d.roundTripUs).toFixed(0)} µs two; bulk throughput tunnel/direct: ${(t.bulkMBps / d.bulkMBps).toFixed(2)} one process, ${(r.bulkMBps / d.bulkMBps).toFixed(2)} two`);
}

async function measure(host: string, port: number): Promise<Sample> {
  const socket = await open(host, port);
  try {
    const roundTripUs = await pingPong(socket);
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    await bulkEcho(socket);
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const mb = BULK_BYTES / 1e6;
    return { roundTripUs, bulkMBps: mb / seconds, cpuMsPerMB: (cpu.user + cpu.system) / 1000 / mb };
  } finally {
    socket.destroy();
  }
}

function open(host: string, port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, noDelay: true }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** Round trips of a small message, each sent once the previous answer is whole. */
async function pingPong(socket: Socket): Promise<number> {
  const message = Buffer.alloc(SMALL_BYTES, 7);
  const started = performance.now();
  for (let i = 0; i < ROUND_TRIPS; i++) {
    const answered = receive(socket, SMALL_BYTES);
    socket.write(message);
    await answered;
  }
  return ((performance.now() - started) * 1000) / ROUND_TRIPS;
}

async function bulkEcho(socket: Socket): Promise<void> {
  const chunk = Buffer.alloc(BULK_WRITE_BYTES, 3);
  const received = receive(socket, BULK_BYTES);
  for (let sent = 0; sent < BULK_BYTES; sent += chunk.length) {
    if (!socket.write(chunk)) await new Promise((resolve) => socket.once('drain', resolve));
  }
  await received;
}

function receive(socket: Socket, bytes: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let got = 0;
    const onData = (data: Buffer) => {
      got += data.length;
      if (got < bytes) return;
      socket.off('data', onData);
      socket.off('close', onClose);
      resolve();
    };
    const onClose = () => reject(new Error(`the connection closed after ${got} of ${bytes} bytes`));
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

/** CPU ms to seal one MB and open one MB with AES-256-GCM, in frames of the size the tunnel gathers. */
function aesGcmCpuMsPerMB(): number {
  const key = randomBytes(32);
  const frame = randomBytes(256 * 1024);
  const frames = 128;
  const started = process.cpuUsage();
  for (let i = 0; i < frames; i++) {
    const nonce = Buffer.alloc(12);
    nonce.writeUInt32BE(i, 8);
    const cipher = createCipheriv('aes-256-gcm', key, nonce);
    const sealed = cipher.update(frame);
    cipher.final();
    const decipher = createDecipheriv('aes-256-gcm', key, nonce);
    decipher.setAuthTag(cipher.getAuthTag());
    decipher.update(sealed);
    decipher.final();
  }
  const cpu = process.cpuUsage(started);
  return (cpu.user + cpu.system) / 1000 / ((frames * frame.length) / 1e6);
}

function medians(samples: Sample[]): Sample {
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  return { roundTripUs: median(samples.map((s) => s.roundTripUs)), bulkMBps: median(samples.map((s) => s.bulkMBps)), cpuMsPerMB: median(samples.map((s) => s.cpuMsPerMB)) };
}

if (process.argv[2] === WORKER_END_FLAG) await runWorkerEnd(Number(process.argv[3]), process.argv[4]!);
else await main();
