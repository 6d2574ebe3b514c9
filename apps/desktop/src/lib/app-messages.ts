// The daemon's messages as the interface receives them: the mirror of src/app-gateway/app-messages.ts.
export interface PocketBaseAccess {
  url: string;
  token: string;
  expiresAt: number;
}

export interface NodeInfo {
  npub: string;
  publicKey: string;
  role: string;
  agent: string;
  url: string | null;
  startedAt: string;
}

export interface GpuUsage {
  name: string;
  utilizationPercent: number;
  memoryUsedBytes: number;
  memoryTotalBytes: number;
}

export interface NodeUsage {
  at: number;
  cpuPercent: number;
  cores: number;
  load1: number;
  memoryUsedBytes: number;
  memoryTotalBytes: number;
  processRssBytes: number;
  gpus: GpuUsage[];
}

export interface EarningsTotal {
  unit: string;
  rail: string;
  released: number;
  pending: number;
  spent: number;
}

export type AppEvent =
  | { type: 'welcome'; node: NodeInfo; models: string[]; pocketbase: PocketBaseAccess | null; content: { available: boolean; reason?: string } }
  | { type: 'pocketbase.token'; pocketbase: PocketBaseAccess | null }
  | { type: 'models'; models: string[] }
  | { type: 'usage'; usage: NodeUsage; earnings: EarningsTotal[] }
  | { type: 'job.started'; requestId: string; jobId: string }
  | { type: 'job.matched'; requestId: string; jobId: string; provider: string }
  | { type: 'job.text'; requestId: string; jobId: string; text: string }
  | { type: 'job.done'; requestId: string; jobId: string; output: string; tokens: number; provider: string; finishReason: string; firstTokenMs: number; totalMs: number; toolCall?: ToolCall }
  | { type: 'job.failed'; requestId: string; jobId: string; code: string; message: string }
  | { type: 'plan.result'; requestId: string; model: PlanModel; plan: DeploymentPlan }
  | { type: 'content.items'; requestId: string; items: ContentItem[] }
  | { type: 'error'; requestId?: string; code: string; message: string };

/** What the node's content store holds (src/content). */
export interface ContentItem {
  cid: string;
  name: string;
  size: number;
  inPlace: boolean;
  addedAt: string;
}

export interface JobSubmission {
  model: string;
  prompt: string;
  maxTokens: number;
  temperature: number;
  topP?: number;
  seed?: number;
  timeoutS: number;
  priceCap?: { amount: string; currency: string; per: 'job' | '1k_tokens' };
  verification: { kind: 'none' } | { kind: 'redundant'; k: number } | { kind: 'sampled'; p: number };
  /** Structured output as OpenAI's response_format; the job then runs as a chat completion. */
  responseFormat?: { type: 'json_object' } | { type: 'json_schema'; json_schema: { name: string; schema: Record<string, unknown>; strict: boolean } };
  /** Function tools as OpenAI's chat tools, and the choice among them. */
  tools?: Array<{ type: 'function'; function: { name: string; description?: string; parameters?: Record<string, unknown> } }>;
  toolChoice?: 'auto' | 'required';
}

/** The call a tool job's output is: the function's name and its arguments' JSON text. */
export interface ToolCall {
  name: string;
  arguments: string;
}

export interface PlanModel {
  name: string;
  layers: number;
  parameterCount?: number;
}

export interface PlanStage {
  node: string;
  gpus: number[];
  layerRange: [number, number];
  share: number;
  kvBlocks: number;
}

export interface DeploymentPlan {
  strategy: string;
  tensorParallelSize: number;
  pipelineParallelSize: number;
  stages: PlanStage[];
  maxConcurrentSequences: number;
  contextLength: number;
  explanation: string;
}

/** Rows of the node's PocketBase collections the views read (backend/migrations is the schema). */
export interface JobRow {
  id: string;
  jobId: string;
  role: 'client' | 'aggregator' | 'provider';
  state: string;
  model: string;
  client: string;
  provider: string;
  aggregator: string;
  tokens: number;
  output: string;
  error: { code: string; message: string } | null;
  createdAt: number;
  updatedAt: number;
  /** Present when a job was split across providers (sharded inference); absent for one provider. */
  shards?: ShardRecord[] | null;
}

export interface ShardRecord {
  provider: string;
  stage?: number;
  layerRange?: [number, number];
  tokens?: number;
  state?: string;
}

export interface JobEventRow {
  id: string;
  jobId: string;
  role: string;
  from: string;
  to: string;
  at: number;
  reason: string;
}

export interface ReputationEventRow {
  id: string;
  provider: string;
  jobId: string;
  kind: string;
  delta: number;
  reason: string;
  at: number;
}

export interface ContentRow {
  id: string;
  hash: string;
  kind: string;
  name: string;
  mime: string;
  size: number;
  pinned: boolean;
  createdAt: number;
}

export interface LogRow {
  id: string;
  level: string;
  source: string;
  message: string;
  jobId: string;
  data: unknown;
  at: number;
}
