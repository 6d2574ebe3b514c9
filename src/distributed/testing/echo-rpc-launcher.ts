// A worker launcher whose "ggml-rpc-server" is a TCP echo process: tunnel and stage tests carry real bytes through
// real sockets without the llama.cpp build (the distributed e2e suites run the real worker).
import { connect } from 'node:net';
import { freeLoopbackPort, startEngineProcess, stopEngineProcess, tcpAccepts } from '../engine-process.js';
import type { RpcWorkerLauncher } from '../rpc-worker.js';

const ECHO_WORKER = `
const net = require('node:net');
const port = Number(process.argv.find((a, i) => process.argv[i - 1] === '-p'));
net.createServer((s) => s.pipe(s)).listen(port, '127.0.0.1');`;

export const echoLauncher: RpcWorkerLauncher = {
  kind: 'process',
  launch: async ({ threads }) => {
    const port = await freeLoopbackPort();
    const child = startEngineProcess(process.execPath, ['-e', ECHO_WORKER, '--', '-p', String(port), '-t', String(threads)]);
    return { process: child, ready: () => tcpAccepts(port), connect: async () => connect({ host: '127.0.0.1', port }), stop: () => stopEngineProcess(child) };
  },
};
