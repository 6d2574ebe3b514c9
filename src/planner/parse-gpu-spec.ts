// Reads the `--gpus` flag: nodes separated by commas, each COUNTxMEMORY with an optional :LINK, e.g.
// `8x80GB,8x80GB` (two 8-GPU nodes) or `2x24GB:pcie,1x48GB`. "GB" means GiB: an "80GB" card holds about 80 GiB.
// A node may be named, `NAME=8x80GB` (e.g. its npub), so measured links between named nodes apply to it.
import { uniformNode, type Cluster, type ClusterNode, type IntraNodeLink } from './cluster.js';
import { InvalidGpuSpecError } from './planner-errors.js';

export interface ParseGpuSpecParameters {
  /** Link assumed when a node names none; multi-GPU datacenter nodes (8x80GB) are usually NVLink. */
  readonly defaultIntraLink?: IntraNodeLink['kind'];
}

const UNIT_BYTES: Readonly<Record<string, number>> = {
  m: 1024 ** 2,
  mb: 1024 ** 2,
  mib: 1024 ** 2,
  g: 1024 ** 3,
  gb: 1024 ** 3,
  gib: 1024 ** 3,
  t: 1024 ** 4,
  tb: 1024 ** 4,
  tib: 1024 ** 4,
};
const LINKS: readonly IntraNodeLink['kind'][] = ['nvlink', 'pcie', 'unknown'];
const MAX_GPUS_PER_NODE = 64;
const NAMED_PATTERN = /^([a-z0-9_.-]{1,80})\s*=\s*(.+)$/;
const NODE_PATTERN = /^(?:(\d+)\s*x\s*)?(\d+(?:\.\d+)?)\s*([a-z]+)(?::([a-z]+))?$/;

export function parseGpuSpec(spec: string, parameters: ParseGpuSpecParameters = {}): Cluster {
  const parts = spec.split(',').map((p) => p.trim().toLowerCase());
  if (spec.trim() === '' || parts.some((p) => p === '')) throw new InvalidGpuSpecError(spec, 'a node is empty');
  const nodes = parts.map((part, i) => {
    const named = NAMED_PATTERN.exec(part);
    return parseNode(spec, named ? named[2]! : part, named ? named[1]! : `node-${i + 1}`, parameters.defaultIntraLink ?? 'nvlink');
  });
  const names = nodes.map((node) => node.id);
  const repeated = names.find((name, i) => names.indexOf(name) !== i);
  if (repeated !== undefined) throw new InvalidGpuSpecError(spec, `node name "${repeated}" is used twice`);
  return { nodes };
}

function parseNode(spec: string, part: string, id: string, defaultLink: IntraNodeLink['kind']): ClusterNode {
  const match = NODE_PATTERN.exec(part);
  if (match === null) throw new InvalidGpuSpecError(spec, `"${part}" is not COUNTxMEMORY`);
  const [, countText, amountText, unitText = '', linkText] = match;
  const count = countText === undefined ? 1 : Number(countText);
  if (count < 1 || count > MAX_GPUS_PER_NODE) {
    throw new InvalidGpuSpecError(spec, `${count} GPUs in one node is outside 1-${MAX_GPUS_PER_NODE}`);
  }
  const unit = UNIT_BYTES[unitText];
  if (unit === undefined) throw new InvalidGpuSpecError(spec, `unknown memory unit "${unitText}"`);
  const memoryBytes = Math.round(Number(amountText) * unit);
  if (memoryBytes <= 0) throw new InvalidGpuSpecError(spec, `"${part}" has no memory`);
  const kind = LINKS.find((l) => l === (linkText ?? defaultLink));
  if (kind === undefined) throw new InvalidGpuSpecError(spec, `unknown link "${linkText}" (use nvlink or pcie)`);
  return uniformNode(id, count, memoryBytes, { kind });
}
