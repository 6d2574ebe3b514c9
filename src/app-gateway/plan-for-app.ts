// The aggregator view's plan: how a model this node serves (or a reference model) would be laid out over the
// GPUs the user names, as `infernet plan --json` prints it.
import { describeModelFile, type ModelDescriptor } from '../models/index.js';
import { modelNameOf } from '../models/model-catalog.js';
import { LLAMA_3_70B, LLAMA_3_8B, MIXTRAL_8X7B, parseGpuSpec, planDeployment, type DeploymentPlan } from '../planner/index.js';
import type { AppPlanRequest } from './app-messages.js';
import { InfernetError } from '../errors/index.js';

const REFERENCE_MODELS: Record<string, ModelDescriptor> = { 'llama-3-8b': LLAMA_3_8B, 'llama-3-70b': LLAMA_3_70B, 'mixtral-8x7b': MIXTRAL_8X7B };

export class UnknownPlanModelError extends InfernetError {
  override readonly name = 'UnknownPlanModelError';
  constructor(readonly model: string, served: readonly string[]) {
    super('model_unavailable', `no model "${model}" here: plan one this node serves (${served.join(', ') || 'none'}) or ${Object.keys(REFERENCE_MODELS).join(', ')}`);
  }
}

export async function planForApp(request: AppPlanRequest, modelPaths: readonly string[]): Promise<{ model: ModelDescriptor; plan: DeploymentPlan }> {
  const path = modelPaths.find((candidate) => modelNameOf(candidate) === request.model);
  const reference = REFERENCE_MODELS[request.model.toLowerCase()];
  const model = path ? await describeModelFile(path) : reference;
  if (!model) throw new UnknownPlanModelError(request.model, modelPaths.map(modelNameOf));
  const plan = planDeployment(model, parseGpuSpec(request.gpus), request.context ? { contextLength: request.context } : {});
  return { model, plan };
}
