import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { chooseJobRuntime, type ChooseJobRuntimeParameters, type JobRuntime } from './choose-job-runtime.js';

const reachable = { reachable: true, serverVersion: '20.10.24', apiVersion: '1.41', nvidiaRuntime: false } as const;
const unreachable = { reachable: false, reason: 'there is no Docker socket at /var/run/docker.sock' } as const;

describe('chooseJobRuntime', () => {
  const cases: { name: string; parameters: ChooseJobRuntimeParameters; kind: JobRuntime['kind']; notice: RegExp }[] = [
    { name: 'runs jobs in Docker whenever an engine answers', parameters: { docker: reachable, allowUnsandboxedLocalRuntime: false }, kind: 'docker', notice: /sandboxed in Docker 20\.10\.24/ },
    { name: 'prefers Docker even when the unsandboxed runtime is allowed', parameters: { docker: reachable, allowUnsandboxedLocalRuntime: true }, kind: 'docker', notice: /sandboxed/ },
    { name: 'refuses jobs without Docker unless the operator chose otherwise, saying why', parameters: { docker: unreachable, allowUnsandboxedLocalRuntime: false }, kind: 'refuse-jobs', notice: /refuses jobs: there is no Docker socket/ },
    { name: 'runs jobs in-process without Docker only when configured, with a warning', parameters: { docker: unreachable, allowUnsandboxedLocalRuntime: true }, kind: 'local-unsandboxed', notice: /WARNING: .*WITHOUT a sandbox/ },
  ];
  for (const { name, parameters, kind, notice } of cases) {
    it(name, () => {
      const runtime = chooseJobRuntime(parameters);
      assert.equal(runtime.kind, kind);
      assert.match(runtime.notice, notice);
    });
  }
});
