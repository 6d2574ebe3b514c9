// Docker networks created with `Internal: true`: the containers on one have no route out, and the host reaches each
// at its address there, never through a published port. A provider's long-lived servers (vLLM, llama-server) use one.
import type Docker from 'dockerode';

/** Creates the internal network `name` unless it exists. */
export async function ensureInternalNetwork(docker: Docker, name: string): Promise<void> {
  const existing = await docker.listNetworks({ filters: { name: [name] } });
  if (existing.some((network) => network.Name === name)) return;
  await docker.createNetwork({ Name: name, Driver: 'bridge', Internal: true, CheckDuplicate: true }).catch((error: Error) => {
    // Two servers starting at once: the other created it.
    if (!/already exists/i.test(error.message)) throw error;
  });
}

/** A container's address on `network`, or undefined when it has none. */
export async function addressOn(docker: Docker, containerId: string, network: string): Promise<string | undefined> {
  const info = await docker.getContainer(containerId).inspect();
  return info.NetworkSettings.Networks[network]?.IPAddress || undefined;
}

/** Removes the network `name` once no container is attached to it; one still in use, or gone already, is left. */
export async function removeInternalNetworkIfUnused(docker: Docker, name: string): Promise<void> {
  const network = docker.getNetwork(name);
  const info = (await network.inspect().catch(() => undefined)) as { Containers?: Record<string, unknown> } | undefined;
  if (!info || Object.keys(info.Containers ?? {}).length > 0) return;
  // A container attached since the inspect makes Docker refuse: the network stays for it.
  await network.remove().catch(() => undefined);
}
