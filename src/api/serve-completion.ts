// POST /v1/chat/completions and /v1/completions: one request runs one Infernet job per choice, checked under the
// node's verification policy, answered as one JSON object or streamed as server-sent events. The client going away
// cancels the job at the provider. serveJobs is shared with the Ollama and Anthropic routes.
import { randomUUID } from 'node:crypto';
import type { ServerResponse } from 'node:http';
import type { NodeKey } from '../identity/index.js';
import type { JobStore } from '../jobs/index.js';
import type { Logger } from '../log/index.js';
// Imported from their modules, not node/index.js: the daemon (behind node/index.js) imports this folder.
import { JobFailedError, type JobOutcome } from '../client/job-client.js';
import type { JobPayer } from '../payments/index.js';
import type { JobSpec, ModelOffer, VerificationPolicy } from '../protocol/index.js';
import { runJobThroughAggregator } from '../client/run-job-through-aggregator.js';
import { InfernetError, relayedHttpStatusOf } from '../errors/index.js';
import type { PeerSession } from '../transport/index.js';
import { ApiError, modelNotFound, networkUnavailable } from './api-error.js';
import { CompletionReply, type CompletionReplyOptions } from './completion-reply.js';
import { ChatCompletionRequest, chatJobSpec, choiceSpecs, CompletionRequest, completionJobSpec, parseRequestBody, replyModeOf } from './openai-requests.js';
import type { CompletionKind } from './openai-responses.js';
import { checkStoreFields, type StoredCompletions } from './stored-completions.js';

/** What a completion needs from the node. */
export interface CompletionServices {
  key: NodeKey;
  /** An open session with an aggregator; rejects with an ApiError when none is reachable. */
  session: () => Promise<PeerSession>;
  /** Models the network serves now, to tell an unknown model (404) from a busy network (503). */
  models: () => Promise<string[]>;
  /** The same with the file size and sha256 its providers agree on, for the lists that show them (Ollama's). */
  offers?: () => Promise<ModelOffer[]>;
  store?: JobStore;
  logger: Logger;
  /** The node's verification.defaultPolicy: OpenAI requests carry no policy of their own. */
  verification?: VerificationPolicy;
  /** Pays the jobs whose match asks payment (the node's payments section); none: such jobs are refused payment_required. */
  payer?: JobPayer;
}

/**
 * What a request's reply hears of its jobs, whatever API it speaks (OpenAI, Ollama, Anthropic): a request with
 * n choices runs n jobs one after the other, and `index` says which.
 */
export interface JobReply {
  matched(index: number, providerPublicKey: string): void;
  /** The provider accepted the job: a stream's status line may go now, refusals before it are HTTP errors. */
  accepted(index: number): void;
  text(index: number, text: string): void;
  /** Choice `index` completed; `finish` follows the last. */
  choiceDone(index: number, outcome: JobOutcome): void;
  finish(outcomes: JobOutcome[]): void;
  fail(error: ApiError): void;
}

function completionJobOf(kind: CompletionKind, body: unknown, stored?: StoredCompletions): { specs: JobSpec[]; options: CompletionReplyOptions } {
  const jobId = randomUUID();
  const request = kind === 'chat' ? parseRequestBody(ChatCompletionRequest, body) : parseRequestBody(CompletionRequest, body);
  const spec = kind === 'chat' ? chatJobSpec(request as ChatCompletionRequest, jobId) : completionJobSpec(request as CompletionRequest, jobId);
  const chat = kind === 'chat' ? (request as ChatCompletionRequest) : undefined;
  if (chat) checkStoreFields(chat);
  return {
    specs: choiceSpecs(spec, request.n ?? 1, randomUUID),
    options: {
      stream: request.stream === true,
      includeUsage: request.stream_options?.include_usage === true,
      context: { kind, jobId, model: request.model, created: Math.floor(Date.now() / 1000), ...(chat ? { mode: replyModeOf(chat) } : {}) },
      ...(chat?.store && stored ? { keep: (completion) => stored.keep(completion, chat.messages, chat.metadata ?? {}) } : {}),
    },
  };
}

/** `stored`: where a chat completion made with `store: true` is kept. */
export async function serveCompletion(kind: CompletionKind, body: unknown, response: ServerResponse, services: CompletionServices, stored?: StoredCompletions): Promise<void> {
  const { specs, options } = completionJobOf(kind, body, stored);
  await serveJobs(specs, new CompletionReply(response, options), response, services);
}

/**
 * Runs a request's jobs and tells the reply; the client going away or the deadline cancels them.
 * `client` is the HTTP response the client waits on, or, for work that outlives its request (a background response),
 * a signal whose abort ends the jobs the same way: the reply hears nothing more.
 * A request with n choices runs its first job alone, so that its refusal is still an HTTP error and the headers name
 * its provider; once a provider accepted it the others run at once, on free slots of the same or other providers.
 * One refused for want of a free provider waits for another choice of the request to end and asks again (a provider
 * with one slot runs them one after the other); any other failure fails the request and cancels the rest.
 */
export async function serveJobs(specs: readonly JobSpec[], reply: JobReply, client: ServerResponse | AbortSignal, services: CompletionServices): Promise<void> {
  const watch = new RequestWatch(client, specs[0]!.deadline);
  try {
    const session = await services.session();
    const choices = new ChoiceRuns(specs, reply, watch, services);
    const outcomes = await choices.run(session);
    if (outcomes) reply.finish(outcomes);
  } finally {
    watch.dispose();
  }
}

type ChoiceResult = { outcome: JobOutcome } | { failure: ApiError; accepted: boolean } | { gone: true };

/** The jobs of one request's choices, and what their runs share: the outcomes, the first failure, the waits for a slot. */
class ChoiceRuns {
  private readonly outcomes: JobOutcome[] = [];
  private failure?: ApiError;
  private running = 0;
  /** Choices refused for want of a free provider, each woken when another choice of the request ends. */
  private readonly waiting: Array<() => void> = [];

  /** What the choices' jobs tell the reply, until the request failed: the other jobs' last words are not told. */
  private readonly reply: JobReply;

  constructor(
    private readonly specs: readonly JobSpec[],
    reply: JobReply,
    private readonly watch: RequestWatch,
    private readonly services: CompletionServices,
  ) {
    const live = () => !this.failure;
    this.reply = {
      matched: (index, provider) => live() && reply.matched(index, provider),
      accepted: (index) => live() && reply.accepted(index),
      text: (index, text) => live() && reply.text(index, text),
      choiceDone: (index, outcome) => live() && reply.choiceDone(index, outcome),
      finish: (outcomes) => reply.finish(outcomes),
      fail: (error) => reply.fail(error),
    };
  }

  /** The outcomes in choice order, or undefined when the request failed (the reply told) or its client went away. */
  async run(session: PeerSession): Promise<JobOutcome[] | undefined> {
    let others: Promise<void[]> | undefined;
    const startOthers = () => (others ??= Promise.all(this.specs.slice(1).map((spec, offset) => this.runChoice(offset + 1, spec))));
    await this.runChoice(0, this.specs[0]!, session, startOthers);
    if (!this.failure && !this.watch.clientGone) startOthers();
    // Every choice's job has ended (a failure cancelled the rest) before the request's watch goes.
    await others;
    const ended = this.specs.every((_, index) => this.outcomes[index] !== undefined);
    return ended && !this.failure && !this.watch.clientGone ? this.outcomes : undefined;
  }

  private async runChoice(index: number, first: JobSpec, session?: PeerSession, onAccepted?: () => void): Promise<void> {
    let spec = first;
    for (;;) {
      // Checked before runJob, which only listens for an abort still to come.
      if (this.failure || this.watch.clientGone) return;
      if (this.watch.deadlinePassed) return this.fail(deadlineExceeded(spec.jobId));
      this.running++;
      const result = await this.sessionFor(session).then((current) => runOneJob(spec, index, current, this.reply, this.watch, this.services, onAccepted), (error: unknown) => ({ failure: asApiError(error), accepted: false }));
      this.running--;
      if ('outcome' in result) {
        this.outcomes[index] = result.outcome;
        this.reply.choiceDone(index, result.outcome);
        return this.waiting.shift()?.();
      }
      if ('gone' in result) return this.wakeAll();
      if (!this.mayWait(index, result)) return this.fail(result.failure);
      await new Promise<void>((resolve) => this.waiting.push(resolve));
      // Asked again as a new job: the refused one ended at the aggregator.
      spec = { ...spec, jobId: randomUUID() };
      session = undefined;
    }
  }

  /** The first choice's session, or the shared one now: it may have been redialled by a job that outlived an aggregator restart. */
  private async sessionFor(first: PeerSession | undefined): Promise<PeerSession> {
    return first ?? this.services.session();
  }

  /** A choice after the first, refused before any provider took it for want of a free one, while another still runs. */
  private mayWait(index: number, result: { failure: ApiError; accepted: boolean }): boolean {
    return index > 0 && !result.accepted && result.failure.status === 503 && result.failure.apiCode === 'no_provider' && this.running > 0;
  }

  private fail(error: ApiError): void {
    if (this.failure || this.watch.clientGone) return;
    this.failure = error;
    this.reply.fail(error);
    // The other choices' jobs are cancelled at their providers; their ends are not told.
    this.watch.cancel();
    this.wakeAll();
  }

  private wakeAll(): void {
    for (const wake of this.waiting.splice(0)) wake();
  }
}

async function runOneJob(job: JobSpec, index: number, session: PeerSession, reply: JobReply, watch: RequestWatch, services: CompletionServices, onAccepted?: () => void): Promise<ChoiceResult> {
  // Checks run on other providers; only the primary run streams to the caller.
  const spec: JobSpec = services.verification && job.verification.kind === 'none' ? { ...job, verification: services.verification } : job;
  let accepted = false;
  try {
    // If the aggregator restarts mid-job, the job goes on through it once it is back (the stream continuing).
    const { outcome } = await runJobThroughAggregator({
      url: session.remote,
      session,
      dial: () => services.session(),
      sharedSessions: true,
      key: services.key,
      spec,
      logger: services.logger,
      ...(services.payer ? { payer: services.payer } : {}),
      ...(services.store ? { store: services.store } : {}),
      hooks: {
        signal: watch.signal,
        onMatched: (provider) => reply.matched(index, provider),
        onAccepted: () => {
          accepted = true;
          reply.accepted(index);
          onAccepted?.();
        },
        onText: (text) => reply.text(index, text),
      },
    });
    return { outcome };
  } catch (error) {
    if (watch.clientGone) return { gone: true };
    return { failure: watch.deadlinePassed ? deadlineExceeded(spec.jobId) : await apiErrorOf(error, spec, services), accepted };
  }
}

/**
 * Aborts the job when the client goes away (the response closes before it finished, or the signal standing for the
 * client aborts) or the deadline passes: an aggregator enforces a deadline only once it matched the job, and a
 * request must not wait past it.
 */
class RequestWatch {
  private readonly abort = new AbortController();
  private readonly timer: NodeJS.Timeout;
  private readonly unwatch: () => void = () => {};
  clientGone = false;
  deadlinePassed = false;

  constructor(client: ServerResponse | AbortSignal, deadline: number) {
    const gone = () => {
      this.clientGone = true;
      this.abort.abort();
    };
    if (client instanceof AbortSignal) {
      if (client.aborted) gone();
      client.addEventListener('abort', gone, { once: true });
      this.unwatch = () => client.removeEventListener('abort', gone);
    } else {
      client.on('close', () => {
        if (!client.writableFinished) gone();
      });
    }
    this.timer = setTimeout(() => {
      this.deadlinePassed = true;
      // The reason is what the job's record says it failed of.
      this.abort.abort(new InfernetError('deadline_exceeded', 'the request passed its deadline'));
    }, Math.min(deadline - Date.now(), 2 ** 31 - 1));
  }

  get signal(): AbortSignal {
    return this.abort.signal;
  }

  /** Cancels the request's jobs still running: another of its choices failed it. */
  cancel(): void {
    this.abort.abort();
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.unwatch();
  }
}

const deadlineExceeded = (jobId: string) => new ApiError(504, 'deadline_exceeded', `Job ${jobId} did not finish before its deadline (set infernet.timeout_s for more time).`);

export const asApiError = (error: unknown): ApiError => (error instanceof ApiError ? error : new ApiError(500, 'internal', `Internal error: ${(error as Error).message}`, null, { cause: error }));

/** The HTTP answer to a job that did not complete. */
async function apiErrorOf(error: unknown, spec: JobSpec, services: CompletionServices): Promise<ApiError> {
  if (!(error instanceof JobFailedError)) return asApiError(error);
  const message = `Job ${error.jobId} failed (${error.reason}): ${error.message}`;
  if (error.code === 'no_provider') return noProviderError(spec, services, error);
  if (error.code === 'model_unavailable') return modelNotFound(spec.model.name);
  // A session that closed mid-job is the network gone away, like an unreachable provider.
  return new ApiError(relayedHttpStatusOf(error.code), error.reason, message, null, { cause: error });
}

/** The aggregator found no provider: the model is unknown to the network (404), or its providers are busy or gone (503). */
async function noProviderError(spec: JobSpec, services: CompletionServices, error: JobFailedError): Promise<ApiError> {
  const served = await services.models().catch(() => undefined);
  if (served?.length && !served.includes(spec.model.name)) return modelNotFound(spec.model.name);
  if (served?.length === 0) return networkUnavailable('no_provider', 'No provider is connected to the network now: the request cannot be served.', { cause: error });
  const cap = spec.priceCap ? ` within the price cap of ${spec.priceCap.amount} ${spec.priceCap.currency}` : '';
  return networkUnavailable('no_provider', `No provider can take a job for \`${spec.model.name}\`${cap} now: ${error.message}`, { cause: error });
}
