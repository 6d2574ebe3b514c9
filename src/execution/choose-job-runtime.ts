// Where a provider runs jobs: in Docker whenever an engine answers; without one, only if the operator chose the
// unsandboxed local runtime in config, and never silently. The result carries the line to log at start-up.
import type { DockerEngineStatus } from './detect-docker-engine.js';

export type JobRuntime =
  | { kind: 'docker'; notice: string }
  | { kind: 'local-unsandboxed'; notice: string }
  | { kind: 'refuse-jobs'; notice: string };

export interface ChooseJobRuntimeParameters {
  docker: DockerEngineStatus;
  /** The operator's explicit choice in config to run jobs in-process, with no sandbox, when Docker is absent. */
  allowUnsandboxedLocalRuntime: boolean;
}

export function chooseJobRuntime({ docker, allowUnsandboxedLocalRuntime }: ChooseJobRuntimeParameters): JobRuntime {
  if (docker.reachable) return { kind: 'docker', notice: `jobs run sandboxed in Docker ${docker.serverVersion} (API ${docker.apiVersion})` };
  if (allowUnsandboxedLocalRuntime) {
    return { kind: 'local-unsandboxed', notice: `WARNING: jobs run in-process WITHOUT a sandbox, as configured, because ${docker.reason}` };
  }
  return {
    kind: 'refuse-jobs',
    notice: `this provider refuses jobs: ${docker.reason}. Start Docker, or allow the unsandboxed local runtime in config to run jobs without a sandbox`,
  };
}
