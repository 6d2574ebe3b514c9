import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Docker from 'dockerode';
import { detectDockerEngine } from './detect-docker-engine.js';
import { useDockerFixture } from './test-fixture.js';

const dockerFixture = useDockerFixture();

describe('detectDockerEngine', () => {
  it('finds a running engine and its API version', async () => {
    const { docker } = await dockerFixture();
    const status = await detectDockerEngine({ docker });
    assert.equal(status.reachable, true);
    assert.ok(status.reachable && /^\d+\.\d+/.test(status.apiVersion));
  });

  it('says why when there is no engine at the socket', async () => {
    const status = await detectDockerEngine({ docker: new Docker({ socketPath: '/nonexistent/docker.sock' }) });
    assert.deepEqual(status, { reachable: false, reason: 'there is no Docker socket at /nonexistent/docker.sock: install Docker and start it (scripts/setup-docker.sh does both)' });
  });
});
