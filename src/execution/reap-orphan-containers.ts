// A daemon that crashed leaves its job containers behind. At the next start it removes every container (and
// volume) labelled with its node id, running or not: no job survives its daemon, so none of them is wanted.
import type Docker from 'dockerode';
import { removeContainer } from './run-sandboxed-container.js';
import { CONTAINER_LABELS } from './execution-templates.js';

export interface ReapOrphanContainersParameters {
  docker: Docker;
  nodeId: string;
}

export interface ReapOrphanContainersReturnType {
  containerIds: string[];
  volumeNames: string[];
}

export async function reapOrphanContainers({ docker, nodeId }: ReapOrphanContainersParameters): Promise<ReapOrphanContainersReturnType> {
  const label = `${CONTAINER_LABELS.node}=${nodeId}`;
  const containers = await docker.listContainers({ all: true, filters: { label: [label] } });
  await Promise.all(containers.map((info) => removeContainer(docker.getContainer(info.Id))));
  const { Volumes } = await docker.listVolumes({ filters: { label: [label] } });
  const volumes = Volumes ?? [];
  for (const volume of volumes) {
    await docker
      .getVolume(volume.Name)
      .remove()
      .catch((error: { statusCode?: number }) => {
        if (error.statusCode !== 404) throw error;
      });
  }
  return { containerIds: containers.map((info) => info.Id), volumeNames: volumes.map((volume) => volume.Name) };
}
