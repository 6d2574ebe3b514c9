// The hardware a deployment is planned on: nodes of GPUs and the links between them. Plain data, filled
// from a `--gpus 8x80GB,8x80GB` flag or from what providers report about themselves.

/** How a node's GPUs talk to each other; `measuredGbps` (from a peer-to-peer copy test) overrides the kind. */
export interface IntraNodeLink {
  readonly kind: 'nvlink' | 'pcie' | 'unknown';
  readonly measuredGbps?: number;
}

export interface GpuDevice {
  readonly memoryBytes: number;
  /** Memory not held by other work; all of it when absent. */
  readonly freeBytes?: number;
  readonly name?: string;
}

export interface ClusterNode {
  readonly id: string;
  readonly gpus: readonly GpuDevice[];
  readonly intraLink: IntraNodeLink;
}

/** A measured path between two nodes; either figure may be unknown. */
export interface InterNodeLink {
  readonly between: readonly [string, string];
  readonly bandwidthGbps?: number;
  readonly latencyMs?: number;
}

export interface Cluster {
  readonly nodes: readonly ClusterNode[];
  readonly links?: readonly InterNodeLink[];
}

/** A node of `count` identical, idle GPUs. */
export function uniformNode(id: string, count: number, memoryBytes: number, intraLink: IntraNodeLink): ClusterNode {
  return { id, gpus: Array.from({ length: count }, () => ({ memoryBytes })), intraLink };
}

export function linkBetween(cluster: Cluster, a: string, b: string): InterNodeLink | undefined {
  return cluster.links?.find(({ between: [x, y] }) => (x === a && y === b) || (x === b && y === a));
}
