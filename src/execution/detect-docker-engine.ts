// Whether a Docker engine answers, and if not, why: the provider runs jobs in containers only when one does.
import Docker from 'dockerode';

export type DockerEngineStatus =
  | {
      reachable: true;
      serverVersion: string;
      apiVersion: string;
      /** Whether the engine has the NVIDIA runtime, without which DeviceRequests for GPUs fail. */
      nvidiaRuntime: boolean;
    }
  | { reachable: false; reason: string };

export interface DetectDockerEngineParameters {
  /** Defaults to the engine DOCKER_HOST names, else /var/run/docker.sock. */
  docker?: Docker;
  timeoutMs?: number;
}

export async function detectDockerEngine(parameters: DetectDockerEngineParameters = {}): Promise<DockerEngineStatus> {
  const docker = parameters.docker ?? new Docker();
  const timeoutMs = parameters.timeoutMs ?? 3000;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`it did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    const [version, info] = (await Promise.race([Promise.all([docker.version(), docker.info()]), timeout])) as [Docker.DockerVersion, { Runtimes?: Record<string, unknown> }];
    return { reachable: true, serverVersion: version.Version, apiVersion: version.ApiVersion, nvidiaRuntime: Boolean(info.Runtimes && 'nvidia' in info.Runtimes) };
  } catch (error) {
    return { reachable: false, reason: explainDockerError(error) };
  } finally {
    clearTimeout(timer);
  }
}

function explainDockerError(error: unknown): string {
  const { code, message, address } = error as { code?: string; message?: string; address?: string };
  const where = address ?? process.env.DOCKER_HOST ?? '/var/run/docker.sock';
  switch (code) {
    case 'ENOENT':
      return `there is no Docker socket at ${where}: install Docker and start it (scripts/setup-docker.sh does both)`;
    case 'ECONNREFUSED':
      return `the Docker socket at ${where} refuses connections: is dockerd running?`;
    case 'EACCES':
      return `permission denied on the Docker socket at ${where}: run as a member of the docker group`;
    default:
      return message ?? String(error);
  }
}
