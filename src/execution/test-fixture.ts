// One Docker engine and runtime image per test file: the first use runs scripts/setup-docker.sh (installing and
// starting dockerd if need be) and scripts/build-runtime-image.sh (a no-op unless the image's content changed).
// Each file gets its own node id, so its containers are told apart by label, and removed after its last test.
import { randomBytes } from 'node:crypto';
import { after } from 'node:test';
import Docker from 'dockerode';
import { buildRuntimeImage } from './build-runtime-image.js';
import { CONTAINER_LABELS } from './execution-templates.js';
import { reapOrphanContainers } from './reap-orphan-containers.js';
import { setupDockerEngine } from './setup-docker-engine.js';

export interface DockerFixture {
  docker: Docker;
  image: string;
  /** The node id this file's containers are labelled with. */
  nodeId: string;
  /** This file's containers, running or not. */
  containers(): Promise<Docker.ContainerInfo[]>;
}

/** Call at the top of a test file; the returned function prepares Docker on its first call. */
export function useDockerFixture(): () => Promise<DockerFixture> {
  let started: Promise<DockerFixture> | undefined;
  after(async () => {
    const fixture = await started?.catch(() => undefined);
    if (fixture) await reapOrphanContainers({ docker: fixture.docker, nodeId: fixture.nodeId });
  });
  return () => (started ??= startFixture());
}

async function startFixture(): Promise<DockerFixture> {
  await setupDockerEngine();
  const image = await buildRuntimeImage();
  const docker = new Docker();
  const nodeId = `test-${randomBytes(6).toString('hex')}`;
  return {
    docker,
    image,
    nodeId,
    containers: () => docker.listContainers({ all: true, filters: { label: [`${CONTAINER_LABELS.node}=${nodeId}`] } }),
  };
}
