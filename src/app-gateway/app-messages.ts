// The messages between the desktop and browser interface and its daemon, over the WebSocket at APP_SOCKET_PATH.
// One zod schema per message the interface sends (parsed at the edge); the daemon's answers are typed here too,
// and apps/desktop/src/lib/app-messages.ts mirrors them for the interface's build.
import { z } from 'zod';
import { Price, VerificationPolicy } from '../protocol/index.js';

export const APP_SOCKET_PATH = '/app/ws';
export const APP_CONTENT_PATH = '/app/content';
/** A WebSocket message larger than this from the interface is refused: prompts are text, uploads go over HTTP. */
export const MAX_APP_MESSAGE_BYTES = 1 << 20;

export const AppHello = z.object({ type: z.literal('hello'), key: z.string().min(1).max(200) });

export const AppJobSubmit = z.object({
  type: z.literal('job.submit'),
  /** The interface's own id for this request: every answer about the job carries it. */
  requestId: z.string().min(1).max(64),
  model: z.string().min(1).max(256),
  prompt: z.string().min(1).max(200_000),
  maxTokens: z.number().int().min(1).max(32768),
  temperature: z.number().min(0).max(2),
  topP: z.number().gt(0).max(1).optional(),
  seed: z.number().int().min(0).max(2 ** 32 - 1).optional(),
  timeoutS: z.number().int().min(1).max(3600).default(120),
  priceCap: Price.optional(),
  verification: VerificationPolicy.default({ kind: 'none' }),
  /** Structured output, as OpenAI's response_format ({type: json_object} or {type: json_schema, json_schema}); checked by the chat API's schema. */
  responseFormat: z.object({ type: z.enum(['json_object', 'json_schema']) }).passthrough().optional(),
  /** Function tools, as OpenAI's chat tools; checked by the chat API's schema. */
  tools: z.array(z.unknown()).max(128).optional(),
  toolChoice: z.union([z.enum(['auto', 'required', 'none']), z.object({ type: z.literal('function'), function: z.object({ name: z.string().min(1).max(64) }) })]).optional(),
});
export type AppJobSubmit = z.infer<typeof AppJobSubmit>;

/** A forced or chosen tool call, as the job's output parsed: the function's name and its arguments' JSON text. */
export interface AppToolCall {
  name: string;
  arguments: string;
}

export const AppJobCancel = z.object({ type: z.literal('job.cancel'), requestId: z.string().min(1).max(64) });

export const AppPlanRequest = z.object({
  type: z.literal('plan.request'),
  requestId: z.string().min(1).max(64),
  /** A model this node serves (by name), or a reference id such as llama-3-70b. */
  model: z.string().min(1).max(256),
  /** Nodes as `infernet plan --gpus` takes them: 8x80GB,8x80GB. */
  gpus: z.string().min(1).max(512),
  context: z.number().int().min(1).max(1 << 20).optional(),
});
export type AppPlanRequest = z.infer<typeof AppPlanRequest>;

export const AppContentList = z.object({ type: z.literal('content.list'), requestId: z.string().min(1).max(64) });

/** A new PocketBase token, before the one in welcome expires. */
export const AppTokenRefresh = z.object({ type: z.literal('pocketbase.refresh') });

export const AppRequest = z.discriminatedUnion('type', [AppHello, AppJobSubmit, AppJobCancel, AppPlanRequest, AppContentList, AppTokenRefresh]);
export type AppRequest = z.infer<typeof AppRequest>;

export interface PocketBaseAccess {
  url: string;
  /** An app (a `users` record) token: read access under backend/migrations' rules, never the superuser's. */
  token: string;
  expiresAt: number;
}

export interface AppNodeInfo {
  npub: string;
  publicKey: string;
  role: string;
  agent: string;
  /** The node's peer listener, when it has one. */
  url: string | null;
  startedAt: string;
}

export interface ContentAvailability {
  available: boolean;
  /** Why not, in words a user can act on. */
  reason?: string;
}

/** What the node's content store holds (src/content). */
export interface ContentItem {
  cid: string;
  name: string;
  size: number;
  inPlace: boolean;
  addedAt: string;
}

export interface GpuUsage {
  name: string;
  utilizationPercent: number;
  memoryUsedBytes: number;
  memoryTotalBytes: number;
}

export interface EarningsTotal {
  unit: string;
  rail: string;
  released: number;
  pending: number;
  spent: number;
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

export type AppEvent =
  | { type: 'welcome'; node: AppNodeInfo; models: string[]; pocketbase: PocketBaseAccess | null; content: ContentAvailability }
  | { type: 'pocketbase.token'; pocketbase: PocketBaseAccess | null }
  | { type: 'models'; models: string[] }
  | { type: 'usage'; usage: NodeUsage; earnings: EarningsTotal[] }
  | { type: 'job.started'; requestId: string; jobId: string }
  | { type: 'job.matched'; requestId: string; jobId: string; provider: string }
  | { type: 'job.text'; requestId: string; jobId: string; text: string }
  | { type: 'job.done'; requestId: string; jobId: string; output: string; tokens: number; provider: string; finishReason: string; firstTokenMs: number; totalMs: number; toolCall?: AppToolCall }
  | { type: 'job.failed'; requestId: string; jobId: string; code: string; message: string }
  | { type: 'plan.result'; requestId: string; model: unknown; plan: unknown }
  | { type: 'content.items'; requestId: string; items: ContentItem[] }
  | { type: 'error'; requestId?: string; code: string; message: string };
