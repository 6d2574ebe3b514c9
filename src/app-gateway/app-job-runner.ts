// Runs the jobs the interface submits, as the node's client side: the same path as the HTTP API (one shared
// session with an aggregator, runJobThroughAggregator: the job's verification policy, the node's payer, a client
// record in the node's store, a restart of the aggregator outlived), with each piece of text forwarded to the
// interface as it arrives.
import { randomUUID } from 'node:crypto';
// Imported from their modules, as src/api does: node/index.js leads back to the daemon, which imports this folder.
import { AggregatorConnection, type AggregatorConnectionOptions } from '../api/aggregator-connection.js';
import { ApiError } from '../api/api-error.js';
import { ReplyTextReader, type ReplyMode } from '../api/reply-text-reader.js';
import { asksStructuredReply, chatSpecOfSubmission, formFieldOf } from './app-chat-spec.js';
import { runJobThroughAggregator } from '../client/run-job-through-aggregator.js';
import { InfernetError } from '../errors/index.js';
import type { JobStore } from '../jobs/index.js';
import { JobFailedError } from '../client/job-client.js';
import { requestNetworkModels } from '../client/network-models.js';
import type { JobPayer } from '../payments/index.js';
import { JobSpec } from '../protocol/index.js';
import type { AppEvent, AppJobSubmit } from './app-messages.js';

export interface AppJobRunnerOptions extends AggregatorConnectionOptions {
  store?: JobStore;
  /** Pays the jobs whose match asks payment (the node's payments section); none: such jobs are refused. */
  payer?: JobPayer;
}

export class InvalidJobRequestError extends InfernetError {
  override readonly name = 'InvalidJobRequestError';
  constructor(message: string) {
    super('invalid_frame', message);
  }
}

/** The signed spec of a submitted form, and how its output reads (text, or a tool call under tools). */
export function jobSpecOf(request: AppJobSubmit, jobId: string = randomUUID(), now = Date.now()): { spec: JobSpec; mode: ReplyMode } {
  const refused = (issues: string) => new InvalidJobRequestError(`the job cannot be sent: ${issues}`);
  let base: { spec: JobSpec; mode: ReplyMode } | undefined;
  if (asksStructuredReply(request)) {
    try {
      base = chatSpecOfSubmission(request, jobId, now);
    } catch (error) {
      if (error instanceof ApiError) throw refused(`${formFieldOf(error) || 'the form'}: ${error.message}`);
      throw error;
    }
  }
  const parsed = JobSpec.safeParse({
    ...(base?.spec ?? {
      jobId,
      model: { name: request.model },
      input: { prompt: request.prompt },
      sampling: {
        temperature: request.temperature,
        maxTokens: request.maxTokens,
        ...(request.topP !== undefined ? { topP: request.topP } : {}),
        ...(request.seed !== undefined ? { seed: request.seed } : {}),
      },
    }),
    deadline: now + request.timeoutS * 1000,
    ...(request.priceCap ? { priceCap: request.priceCap } : {}),
    verification: request.verification,
  });
  if (!parsed.success) throw refused(parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; '));
  return { spec: parsed.data, mode: base?.mode ?? 'text' };
}

export class AppJobRunner {
  private readonly connection: AggregatorConnection;
  private readonly running = new Map<string, AbortController>();

  constructor(private readonly options: AppJobRunnerOptions) {
    this.connection = new AggregatorConnection(options);
  }

  /** Runs one job; `send` receives its events in order, ending with job.done or job.failed. */
  async run(request: AppJobSubmit, send: (event: AppEvent) => void): Promise<void> {
    const { requestId } = request;
    const { spec, mode } = jobSpecOf(request);
    const { jobId } = spec;
    const abort = new AbortController();
    this.running.set(requestId, abort);
    send({ type: 'job.started', requestId, jobId });
    try {
      const session = await this.connection.session();
      // If the aggregator restarts mid-job, the job goes on through it once it is back (the stream continuing).
      const { outcome } = await runJobThroughAggregator({
        url: session.remote,
        session,
        dial: () => this.connection.session(),
        sharedSessions: true,
        key: this.options.key,
        spec,
        logger: this.options.logger,
        ...(this.options.payer ? { payer: this.options.payer } : {}),
        ...(this.options.store ? { store: this.options.store } : {}),
        hooks: {
          signal: abort.signal,
          onMatched: (provider) => send({ type: 'job.matched', requestId, jobId, provider }),
          onText: (text) => send({ type: 'job.text', requestId, jobId, text }),
        },
      });
      const reply = new ReplyTextReader(mode).end(outcome.output);
      const toolCall = reply.call ? { toolCall: { name: reply.call.name, arguments: reply.call.arguments } } : {};
      send({ type: 'job.done', requestId, jobId, output: reply.text, tokens: outcome.tokens, provider: outcome.providerNpub, finishReason: outcome.finishReason, firstTokenMs: Math.round(outcome.firstTokenMs), totalMs: Math.round(outcome.totalMs), ...toolCall });
    } catch (error) {
      const code = error instanceof JobFailedError ? error.reason : ((error as Error).name ?? 'internal');
      send({ type: 'job.failed', requestId, jobId, code, message: (error as Error).message });
    } finally {
      this.running.delete(requestId);
    }
  }

  /** The models the aggregator's providers serve now (a client node has no catalog of its own). */
  async networkModels(): Promise<string[]> {
    return (await requestNetworkModels(await this.connection.session())).map((model) => model.name);
  }

  cancel(requestId: string): boolean {
    const abort = this.running.get(requestId);
    abort?.abort();
    return abort !== undefined;
  }

  close(): void {
    for (const abort of this.running.values()) abort.abort();
    this.connection.close();
  }
}
