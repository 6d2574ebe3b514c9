// The sandbox's limits, proven on the runtime image's own node under the exact create options the llama.cpp
// template gives a job, with only the command replaced by a script that tries to break out.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:net';
import { networkInterfaces } from 'node:os';
import { before, describe, it } from 'node:test';
import type { ContainerCreateOptions } from 'dockerode';
import { sharedModelPath } from '../models/shared-test-models.js';
import {
  CONTAINER_LABELS,
  ContainerDeadlineError,
  ContainerOutOfMemoryError,
  CURRENT_EXECUTION_TEMPLATE_VERSION,
  llamaCppContainerSpec,
  reapOrphanContainers,
  runSandboxedContainer,
  type ContainerLimits,
} from './index.js';
import { useDockerFixture, type DockerFixture } from './test-fixture.js';

const dockerFixture = useDockerFixture();
const limits: ContainerLimits = { memoryBytes: 128 * 2 ** 20, cpus: 1, pids: 64, tmpfsBytes: 16 * 2 ** 20 };

describe('the job sandbox on a real Docker engine', () => {
  let fixture: DockerFixture;
  before(async () => {
    fixture = await dockerFixture();
  });

  const jobSpec = (script: string, jobId = 'sandbox-test'): ContainerCreateOptions => ({
    ...llamaCppContainerSpec({
      version: CURRENT_EXECUTION_TEMPLATE_VERSION,
      image: fixture.image,
      owner: { jobId, nodeId: fixture.nodeId },
      modelHostPath: sharedModelPath('stories260K.gguf'),
      limits,
    }),
    Cmd: ['/usr/local/bin/node', '-e', script],
  });

  const runScript = async (script: string, spec = jobSpec(script)) => {
    const lines: string[] = [];
    const exit = await runSandboxedContainer({ docker: fixture.docker, spec, deadlineMs: 20_000, onStdoutLine: (line) => lines.push(line) });
    return { exit, lines };
  };

  it('kills a job that allocates past its memory limit and reports it', async () => {
    const allocate = 'const kept = []; for (let i = 0; i < 64; i++) kept.push(Buffer.alloc(16 * 2 ** 20, 1)); console.log("survived", kept.length)';
    await assert.rejects(runScript(allocate), (error) => {
      assert.ok(error instanceof ContainerOutOfMemoryError, String(error));
      assert.equal(error.memoryBytes, limits.memoryBytes);
      assert.match(error.message, /memory limit of 128 MiB/);
      return true;
    });
  });

  it('kills a job still running at its deadline, by id, within moments', async () => {
    const started = performance.now();
    await assert.rejects(
      runSandboxedContainer({ docker: fixture.docker, spec: jobSpec('setInterval(() => {}, 1000)'), deadlineMs: 1500 }),
      ContainerDeadlineError,
    );
    const elapsed = performance.now() - started;
    assert.ok(elapsed >= 1500 && elapsed < 6000, `took ${elapsed} ms`);
  });

  it('gives a job no network: connections to the host and beyond fail, the same script connects from a bridge network', async () => {
    const server = await listen();
    const port = (server.address() as { port: number }).port;
    let accepted = 0;
    server.on('connection', (socket) => {
      accepted++;
      socket.destroy();
    });
    const hostAddress = dockerBridgeAddress();
    const targets = [
      { host: hostAddress, port },
      { host: '1.1.1.1', port: 53 },
      { host: '8.8.8.8', port: 443 },
    ];
    const script = `
      const net = require('node:net');
      const dns = require('node:dns');
      const targets = ${JSON.stringify(targets)};
      const attempt = (target) => new Promise((resolve) => {
        const socket = net.connect({ ...target, timeout: 3000 });
        socket.on('connect', () => { socket.destroy(); resolve({ ...target, connected: true }); });
        socket.on('timeout', () => { socket.destroy(); resolve({ ...target, connected: false, code: 'TIMEOUT' }); });
        socket.on('error', (error) => resolve({ ...target, connected: false, code: error.code }));
      });
      Promise.all(targets.map(attempt)).then(async (results) => {
        const interfaces = Object.keys(require('node:os').networkInterfaces());
        console.log(JSON.stringify({ results, interfaces }));
      });`;
    try {
      const sandboxed = await runScript(script);
      assert.equal(sandboxed.exit.exitCode, 0, sandboxed.exit.stderrTail.join('\n'));
      const report = JSON.parse(sandboxed.lines.at(-1) ?? '{}') as { results: { connected: boolean; code?: string }[]; interfaces: string[] };
      assert.deepEqual(report.interfaces, ['lo']);
      for (const result of report.results) {
        assert.equal(result.connected, false);
        assert.equal(result.code, 'ENETUNREACH');
      }
      assert.equal(accepted, 0);

      // The control: with a network, the same script does reach the host, so the failures above are the sandbox's.
      const spec = jobSpec(script);
      const bridged = await runScript(script, { ...spec, NetworkDisabled: false, HostConfig: { ...spec.HostConfig, NetworkMode: 'bridge' } });
      const control = JSON.parse(bridged.lines.at(-1) ?? '{}') as { results: { connected: boolean }[] };
      assert.equal(control.results[0]?.connected, true);
      assert.equal(accepted, 1);
    } finally {
      server.close();
    }
  });

  it('runs the job as a non-root user with no capabilities, a read-only root and model, and a private /tmp', async () => {
    const script = `
      const fs = require('node:fs');
      const tryWrite = (path) => { try { fs.writeFileSync(path, 'x'); return 'written'; } catch (error) { return error.code; } };
      const status = fs.readFileSync('/proc/self/status', 'utf8');
      const field = (name) => status.match(new RegExp(name + ':\\\\s*(\\\\S+)'))[1];
      console.log(JSON.stringify({
        uid: process.getuid(), gid: process.getgid(),
        capEff: field('CapEff'), capBnd: field('CapBnd'), noNewPrivs: field('NoNewPrivs'),
        root: tryWrite('/evil'), app: tryWrite('/app/evil.js'), model: tryWrite('/models/model.gguf'), tmp: tryWrite('/tmp/scratch'),
        modelBytes: fs.statSync('/models/model.gguf').size,
      }));`;
    const { exit, lines } = await runScript(script);
    assert.equal(exit.exitCode, 0, exit.stderrTail.join('\n'));
    assert.deepEqual(JSON.parse(lines.at(-1) ?? '{}'), {
      uid: 10001,
      gid: 10001,
      capEff: '0000000000000000',
      capBnd: '0000000000000000',
      noNewPrivs: '1',
      root: 'EROFS',
      app: 'EROFS',
      model: 'EROFS',
      tmp: 'written',
      modelBytes: 1185376,
    });
  });

  it("removes a crashed daemon's leftover containers at the next start, and only its own", async () => {
    const create = (nodeId: string) =>
      fixture.docker.createContainer({
        Image: fixture.image,
        Cmd: ['/usr/local/bin/node', '-e', 'setInterval(() => {}, 1000)'],
        Labels: { [CONTAINER_LABELS.node]: nodeId, [CONTAINER_LABELS.job]: 'orphaned-job' },
        HostConfig: { NetworkMode: 'none', Init: true },
      });
    const orphan = await create(fixture.nodeId);
    await orphan.start();
    const stopped = await create(fixture.nodeId);
    const otherNodes = await create(`${fixture.nodeId}-other`);
    try {
      const reaped = await reapOrphanContainers({ docker: fixture.docker, nodeId: fixture.nodeId });
      assert.deepEqual(new Set(reaped.containerIds), new Set([orphan.id, stopped.id]));
      assert.deepEqual(await fixture.containers(), []);
      assert.equal((await otherNodes.inspect()).Id, otherNodes.id);
    } finally {
      await otherNodes.remove({ force: true });
    }
  });

  it('leaves no container behind', async () => {
    assert.deepEqual(await fixture.containers(), []);
  });
});

function listen(): Promise<Server> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '0.0.0.0', () => resolve(server));
  });
}

/** The host's address on Docker's default bridge, which a container with a network could reach. */
function dockerBridgeAddress(): string {
  const bridge = networkInterfaces().docker0?.find((address) => address.family === 'IPv4');
  return bridge?.address ?? '172.17.0.1';
}
