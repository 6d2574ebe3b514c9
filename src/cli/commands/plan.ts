// `infernet plan`: how a model would be laid out over GPUs and nodes, from its GGUF metadata.
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { detectHardware } from '../../discovery/hardware/index.js';
import { describeModelFile, type ModelDescriptor } from '../../models/index.js';
import { LLAMA_3_70B, LLAMA_3_8B, MIXTRAL_8X7B, parseGpuSpec, planDeployment, type Cluster } from '../../planner/index.js';
import { npubOf } from '../../identity/index.js';
import { interNodeLinksOf, netTestsFileOf, readNetTestResults } from '../../network-test/index.js';
import { CliError } from '../cli-error.js';

export const PLAN_USAGE = `infernet plan --model PATH_OR_ID [--gpus 8x80GB,8x80GB] [--context N] [--home DIR] [--json]
  Prints the model descriptor and the chosen plan. --gpus lists nodes (COUNTxMEMORY, :pcie for PCIe-only nodes,
  NAME= in front to name a node by its npub); without it, this machine's GPUs. IDs without a file: llama-3-8b,
  llama-3-70b, mixtral-8x7b. --home: links measured by \`infernet net test\` from that home apply between nodes named
  by npub.`;

const REFERENCE_MODELS: Record<string, ModelDescriptor> = { 'llama-3-8b': LLAMA_3_8B, 'llama-3-70b': LLAMA_3_70B, 'mixtral-8x7b': MIXTRAL_8X7B };

export async function planCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { model: { type: 'string' }, gpus: { type: 'string' }, context: { type: 'string' }, home: { type: 'string' }, json: { type: 'boolean' } } });
  if (!values.model) throw new CliError('--model is required (a GGUF path, or one of llama-3-8b, llama-3-70b, mixtral-8x7b)');
  const descriptor = await descriptorOf(values.model);
  const nodes = values.gpus ? parseGpuSpec(values.gpus) : await localCluster();
  // Links from stored net tests, named by npub: they apply to nodes named so in --gpus.
  const links = values.home ? interNodeLinksOf(await readNetTestResults(netTestsFileOf(values.home)), npubOf) : [];
  const cluster: Cluster = links.length ? { ...nodes, links } : nodes;
  const context = values.context === undefined ? undefined : Number(values.context);
  if (context !== undefined && (!Number.isInteger(context) || context < 1)) throw new CliError(`--context must be a positive whole number, got "${values.context}"`);
  const plan = planDeployment(descriptor, cluster, context ? { contextLength: context } : {});
  if (values.json) return console.log(JSON.stringify({ model: descriptor, plan, ...(values.home ? { links } : {}) }, null, 2));
  console.log(plan.explanation);
}

async function descriptorOf(model: string): Promise<ModelDescriptor> {
  if (existsSync(model)) return describeModelFile(model);
  const reference = REFERENCE_MODELS[model.toLowerCase()];
  if (!reference) throw new CliError(`--model ${model}: no such file and not a known model id (${Object.keys(REFERENCE_MODELS).join(', ')})`);
  return reference;
}

async function localCluster(): Promise<Cluster> {
  const hardware = await detectHardware();
  if (!hardware.gpus.length) throw new CliError('no GPU detected on this machine: describe the target with --gpus, e.g. --gpus 8x80GB,8x80GB');
  const nvlink = hardware.interconnect.nvlink?.allPairs === true;
  return { nodes: [{ id: 'local', gpus: hardware.gpus.map((gpu) => ({ memoryBytes: gpu.memoryTotalBytes, ...(gpu.memoryFreeBytes !== undefined ? { freeBytes: gpu.memoryFreeBytes } : {}) })), intraLink: { kind: nvlink ? 'nvlink' : 'pcie' } }] };
}
