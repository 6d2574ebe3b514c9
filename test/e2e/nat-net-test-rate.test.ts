// `infernet net test` across a real link whose rate the test sets: two network namespaces joined by a veth
// pair, each end shaped by a token bucket filter (tc tbf; this kernel has no netem), 16 Mbit/s one way and
// 8 Mbit/s the other. The measured throughput must reflect each rate.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { assertCanBuildNamespaces } from '../../src/nat/testing/nat-topology.js';
import { infernetIn, infernetJson, patchConfig, startDaemonIn, type NamespaceDaemon } from '../../src/nat/testing/namespace-daemons.js';
import type { NetTestResult } from '../../src/network-test/index.js';

const UPLOAD_MBPS = 16;
const DOWNLOAD_MBPS = 8;
/** tbf lets a burst through before it shapes and the figure takes a round trip off: within 30% either way. */
const TOLERANCE = 0.3;

describe('net test over a rate-limited link between two network namespaces', () => {
  const tester = { namespace: `infr${process.pid}a`, address: '10.90.0.1' };
  const responder = { namespace: `infr${process.pid}b`, address: '10.90.0.2' };
  let dir: string;
  let daemon: NamespaceDaemon | undefined;
  const remove = () => {
    for (const host of [tester, responder]) {
      try {
        execFileSync('ip', ['netns', 'del', host.namespace], { stdio: 'ignore' });
      } catch {
        // Already gone.
      }
    }
  };

  before(async () => {
    assertCanBuildNamespaces();
    process.once('exit', remove);
    try {
      for (const host of [tester, responder]) execFileSync('ip', ['netns', 'add', host.namespace]);
      execFileSync('ip', ['-n', tester.namespace, 'link', 'add', 'eth0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', responder.namespace]);
      for (const [host, mbps] of [[tester, UPLOAD_MBPS], [responder, DOWNLOAD_MBPS]] as const) {
        execFileSync('ip', ['-n', host.namespace, 'addr', 'add', `${host.address}/24`, 'dev', 'eth0']);
        execFileSync('ip', ['-n', host.namespace, 'link', 'set', 'eth0', 'up']);
        execFileSync('ip', ['-n', host.namespace, 'link', 'set', 'lo', 'up']);
        execFileSync('ip', ['netns', 'exec', host.namespace, 'tc', 'qdisc', 'add', 'dev', 'eth0', 'root', 'tbf', 'rate', `${mbps}mbit`, 'burst', '32kb', 'latency', '50ms']);
      }
    } catch (error) {
      remove();
      throw error;
    }
    dir = await mkdtemp(join(tmpdir(), 'infernet-net-rate-'));
    for (const name of ['responder', 'tester']) {
      const init = await infernetIn(undefined, ['init', '--home', join(dir, name), '--role', 'aggregator', '--host', name === 'responder' ? responder.address : tester.address, '--port', '0']);
      assert.equal(init.code, 0, init.stderr);
      await patchConfig(join(dir, name), { storage: { backend: 'file' } });
    }
    daemon = await startDaemonIn(responder, join(dir, 'responder'));
  }, { timeout: 60_000 });

  after(async () => {
    await daemon?.stop();
    remove();
    if (dir) await rm(dir, { recursive: true, force: true });
  }, { timeout: 30_000 });

  it(`measures about ${UPLOAD_MBPS} Mbit/s up and ${DOWNLOAD_MBPS} Mbit/s down, as the link is shaped`, { timeout: 60_000 }, async (t) => {
    const result = await infernetJson<NetTestResult>(tester, ['net', 'test', daemon!.url, '--home', join(dir, 'tester'), '--seconds', '3', '--bytes', String(8 * 1024 * 1024)], 60_000);
    const up = result.upload.bitsPerSecond / 1e6;
    const down = result.download.bitsPerSecond / 1e6;
    t.diagnostic(`upload ${up.toFixed(2)} Mbit/s, download ${down.toFixed(2)} Mbit/s, rtt p50 ${result.latency.p50Ms.toFixed(2)} ms`);
    assert.ok(Math.abs(up - UPLOAD_MBPS) <= UPLOAD_MBPS * TOLERANCE, `upload ${up} Mbit/s, shaped to ${UPLOAD_MBPS}`);
    assert.ok(Math.abs(down - DOWNLOAD_MBPS) <= DOWNLOAD_MBPS * TOLERANCE, `download ${down} Mbit/s, shaped to ${DOWNLOAD_MBPS}`);
  });
});
