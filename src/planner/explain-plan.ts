// The one line a user reads about a plan: which branch of the decision tree it took, why, and what it holds.
import type { ModelDescriptor } from '../models/index.js';
import { linkBetween, type Cluster } from './cluster.js';
import { formatGibibytes } from './format-bytes.js';
import type { DeploymentPlan } from './plan-deployment.js';

export type PlanWithoutExplanation = Omit<DeploymentPlan, 'explanation'>;

export function explainPlan(model: ModelDescriptor, cluster: Cluster, plan: PlanWithoutExplanation): string {
  const name = `${model.name ?? model.architecture} (${formatGibibytes(plan.memory.weightsBytes)})`;
  return `${name} ${layoutSentence(cluster, plan)}: ${capacitySentence(plan)}`;
}

function layoutSentence(cluster: Cluster, plan: PlanWithoutExplanation): string {
  const [first] = plan.stages;
  const t = plan.tensorParallelSize;
  const n = plan.stages.length;
  const stages = `${stageList(plan)}${slowestHop(cluster, plan)}`;
  switch (plan.strategy) {
    case 'single':
      return `fits on one GPU (${first?.node} #${first?.gpus[0]})`;
    case 'tensor':
      return `is too large for one GPU: tensor parallel over ${t} ${linkName(cluster, first?.node)} GPUs of ${first?.node}`;
    case 'pipeline':
      return (
        `is too large for one GPU or one node's fast-linked GPUs: ` +
        `pipeline of ${n} one-GPU stages, layers by free memory (${stages})`
      );
    case 'hybrid':
      return (
        `is too large for one node or a pipeline of single GPUs: ` +
        `tensor parallel ${t} inside each node, pipeline of ${n} across nodes (${stages})`
      );
  }
}

function capacitySentence(plan: PlanWithoutExplanation): string {
  const count = (n: number): string => n.toLocaleString('en-US');
  return (
    `${count(plan.kvBlocks)} KV blocks of ${plan.blockSize} tokens = ${count(plan.maxConcurrentTokens)} tokens, ` +
    `${plan.maxConcurrentSequences} concurrent sequences of ${count(plan.contextLength)} tokens`
  );
}

function linkName(cluster: Cluster, nodeId: string | undefined): string {
  const link = cluster.nodes.find((n) => n.id === nodeId)?.intraLink;
  return link?.measuredGbps === undefined ? 'NVLink' : `${link.measuredGbps} Gb/s-linked`;
}

function stageList(plan: PlanWithoutExplanation): string {
  return plan.stages.map((s) => `${s.node} layers ${s.layerRange[0]}-${s.layerRange[1] - 1}`).join(', ');
}

/** The worst measured link between consecutive stages on different nodes, which bounds pipeline latency. */
function slowestHop(cluster: Cluster, plan: PlanWithoutExplanation): string {
  const hops = plan.stages
    .slice(1)
    .map((s, i) => linkBetween(cluster, plan.stages[i]?.node ?? '', s.node))
    .filter((link) => link !== undefined);
  const bandwidth = Math.min(...hops.map((l) => l.bandwidthGbps ?? Infinity));
  const latency = Math.max(...hops.map((l) => l.latencyMs ?? -Infinity));
  const parts = [
    ...(Number.isFinite(bandwidth) ? [`${bandwidth} Gb/s`] : []),
    ...(Number.isFinite(latency) ? [`${latency} ms`] : []),
  ];
  return parts.length === 0 ? '' : `; slowest hop ${parts.join(', ')}`;
}
