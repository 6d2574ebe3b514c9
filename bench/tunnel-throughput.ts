// The cost of Infernet's stage tunnel by itself, without llama.cpp: an echo server in a child process stands
// where ggml-rpc-server would, reached once over direct loopback TCP and once through a StageService tunnel
// (authenticated, AES-GCM sealed WebSocket frames). Two shapes of traffic, as llama.cpp's RPC makes them: small
// request/answer round trips (a pipeline's per-token commands) and megabyte transfers (tensor parallelism moves
// several megabytes of activations per token). Rounds alternate direct and tunnel, so the machine's noise falls
// on both; the CPU this process spends per megabyte shows the tunnel's own cost.
// Usage: node dist/bench/tunnel-throughput.js [rounds]
import { connect, type Socket } from 'node:net';
import { StageConnection, StageService, type RpcWorkerLauncher } from '../src/distributed/index.js';
import { startEngineProcess, stopEngineProcess, tcpAccepts, waitUntilReady } from '../src/distributed/engine-process.js';
import { freeLoopbackPort } from '../src/processes/index.js';
import { generateNodeKey } from '../src/identity/index.js';
import { silentLogger } from '../src/log/index.js';

const ROUNDS = Number(process.argv[2] ?? 5);
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

async function main(): Promise<void> {
  const port = await freeLoopbackPort();
  const echo = startEngineProcess(process.execPath, ['-e', ECHO_SERVER, String(port)]);
  await waitUntilReady(echo, () => tcpAccepts(port), 10_000, 'echo server');
  const worker = generateNodeKey();
  const head = generateNodeKey();
  const sleeper = (): RpcWorkerLauncher => ({
    kind: 'process',
    // The stage's "worker" is the echo server; a long sleep stands in for its supervised process.
    launch: async () => {
      const process = startEngineProcess('sleep', ['600']);
      return { process, ready: async () => true, connect: async () => connect({ host: '127.0.0.1', port }), stop: () => stopEngineProcess(process) };
    },
  });
  const service = await StageService.listen({ key: worker, host: '127.0.0.1', port: 0, heads: [head.publicKey], launcher: sleeper(), threads: 1, memoryBytes: 2 ** 30, logger: silentLogger() });
  const stage = await StageConnection.open({ endpoint: { url: service.url, pubkey: worker.publicKey }, key: head, jobId: 'tunnel-bench' });
  const [stageHost, stagePort] = stage.rpcAddress.split(':') as [string, string];
  const direct: Sample[] = [];
  const tunnel: Sample[] = [];
  try {
    for (let round = 0; round < ROUNDS; round++) {
      direct.push(await measure('127.0.0.1', port));
      tunnel.push(await measure(stageHost, Number(stagePort)));
    }
  } finally {
    await stage.close();
    await service.close();
    await stopEngineProcess(echo);
  }
  const d = medians(direct);
  const t = medians(tunnel);
  console.log(`tunnel vs direct loopback TCP, median of ${ROUNDS} alternating rounds (${ROUND_TRIPS} round trips of ${SMALL_BYTES} B; ${BULK_BYTES / 2 ** 20} MiB echoed in ${BULK_WRITE_BYTES / 2 ** 20} MiB writes)`);
  console.log('| path | round trip µs | bulk MB/s | CPU ms per MB |');
  console.log('| --- | --- | --- | --- |');
  console.log(`| direct TCP | ${d.roundTripUs.toFixed(0)} | ${d.bulkMBps.toFixed(0)} | ${d.cpuMsPerMB.toFixed(2)} |`);
  console.log(`| Infernet tunnel (both ends in this process) | ${t.roundTripUs.toFixed(0)} | ${t.bulkMBps.toFixed(0)} | ${t.cpuMsPerMB.toFixed(2)} |`);
  console.log(`tunnel added per round trip: ${(t.roundTripUs - d.roundTripUs).toFixed(0)} µs; bulk throughput tunnel/direct: ${(t.bulkMBps / d.bulkMBps).toFixed(2)}`);
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

function medians(samples: Sample[]): Sample {
  const median = (values: number[]) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
  return { roundTripUs: median(samples.map((s) => s.roundTripUs)), bulkMBps: median(samples.map((s) => s.bulkMBps)), cpuMsPerMB: median(samples.map((s) => s.cpuMsPerMB)) };
}

await main();
