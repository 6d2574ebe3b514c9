// Background responses (`background: true` on POST /v1/responses): the client is answered at once with the response
// `queued`, and polls GET /v1/responses/{id} while the node runs it without the client's connection: `in_progress`
// once a provider accepted its job, then `completed`, `incomplete`, `failed` (with its error) or `cancelled`
// (POST /v1/responses/{id}/cancel). Each state is written to the response store before anything answers it, so a
// node that stops with background responses unfinished runs them again at its next start (their jobs ended with
// the node's session: the aggregator cancelled them, and refunded any payment). At most `limit` run at once; the
// others wait `queued`, as do those refused for want of a free provider, tried again until their time runs out.
// With `stream: true` the events go to a log the POST's connection follows (its client going away stops nothing),
// which GET /v1/responses/{id}?stream=true&starting_after=N follows again for LOG_KEEP_MS after the response ends.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ServerResponse } from 'node:http';
import type { Logger } from '../log/index.js';
import { ApiError, badRequest } from './api-error.js';
import { DEFAULT_TIMEOUT_S, replyModeOf } from './openai-requests.js';
import { inputItemsOf } from './responses-input-items.js';
import { echoOf, responseIdOf, responseObject, ResponsesReply } from './responses-reply.js';
import { conversationOf, responsesJobSpec, type ConversationMessage, type ResponsesRequest } from './responses-requests.js';
import { responseNotFound, type ResponseStore, type StoredResponse } from './responses-store.js';
import { ResponseEventLog } from './response-event-log.js';
import { addTurn, conversationIdOf, type ConversationStore } from './conversations.js';
import { asApiError, serveJobs, type CompletionServices } from './serve-completion.js';

/** Background responses whose jobs run at once; the others wait queued. */
export const MAX_RUNNING_BACKGROUND_RESPONSES = 8;
/** Background responses a node holds unfinished (running or queued); past it a new one is refused 429. */
export const MAX_UNFINISHED_BACKGROUND_RESPONSES = 256;
/** How long a response refused for want of a free provider waits before it asks again. */
export const BUSY_RETRY_MS = 1000;
/** How long a streamed background response's events are kept once it ended, for a client reading on. */
export const LOG_KEEP_MS = 10 * 60_000;

const ENDED = new Set(['completed', 'incomplete', 'failed', 'cancelled']);

export const statusOf = (kept: StoredResponse): string => kept.response.status as string;

/** Queued or in progress: a background response that has not ended yet. */
export const isUnfinished = (kept: StoredResponse): boolean => !ENDED.has(statusOf(kept));

export class BackgroundResponses {
  /** The responses whose jobs run now, each with the controller that ends them (cancel, delete, the node stopping). */
  private readonly running = new Map<string, AbortController>();
  private readonly queue: string[] = [];
  /** The events of streamed background responses (memory only: a restart runs a response again without them). */
  private readonly logs = new Map<string, ResponseEventLog>();
  private closed = false;

  constructor(
    private readonly services: CompletionServices,
    private readonly store: ResponseStore,
    private readonly logger: Logger,
    /** Where a response made on a conversation adds its turn once it has ended. */
    private readonly conversations?: ConversationStore,
    private readonly limits = { running: MAX_RUNNING_BACKGROUND_RESPONSES, unfinished: MAX_UNFINISHED_BACKGROUND_RESPONSES },
  ) {}

  /** Runs again the background responses a stopped node left unfinished, oldest first. */
  resume(): void {
    const unfinished = this.store.ids().filter((id) => this.pendingOf(id));
    if (unfinished.length) this.logger.info({ responses: unfinished.length }, 'running again the background responses unfinished at the last stop');
    for (const id of unfinished) {
      // The job that had started ended with the node: the response waits for its next one.
      this.update(id, { ...this.store.get(id)!.response, status: 'queued' });
      this.enqueue(id);
    }
  }

  /**
   * Keeps a checked request as a queued response (written before it is answered) and runs it when a place is free.
   * With `stream`, its events are kept from response.created on, for its client to follow.
   */
  create(request: ResponsesRequest, history: readonly ConversationMessage[]): Record<string, unknown> {
    const unfinished = this.running.size + this.queue.length;
    if (unfinished >= this.limits.unfinished) throw new ApiError(429, 'rate_limit_exceeded', `This node holds ${unfinished} background responses unfinished, its most: send this one once some have ended (or cancel some).`);
    const id = responseIdOf(randomUUID());
    const response = responseObject(echoOf(request), { id, createdAt: Math.floor(Date.now() / 1000), status: 'queued', background: true });
    this.store.put(id, {
      response,
      conversation: [...history, ...conversationOf(request.input)],
      inputItems: inputItemsOf(request.input, id),
      pending: { request, history: [...history] },
    });
    if (request.stream) {
      const log = new ResponseEventLog();
      this.logs.set(id, log);
      log.send('response.created', { response });
    }
    this.enqueue(id);
    return response;
  }

  /** Streams a streamed background response's events after `startingAfter` to `client`, and those still to come. */
  follow(id: string, client: ServerResponse, startingAfter: number): void {
    if (!this.store.get(id)) throw responseNotFound(id);
    const log = this.logs.get(id);
    if (!log) throw badRequest(`The events of response '${id}' are not kept: only a background response created with stream true streams again, while this node runs it and for ${LOG_KEEP_MS / 60_000} minutes after (GET it without stream for its state).`, 'stream');
    log.follow(client, startingAfter);
  }

  /**
   * Ends a queued or running background response `cancelled` and stops its job; one already cancelled is answered
   * as it is. A response that ended otherwise, or that was not created in the background, cannot be cancelled.
   */
  cancel(id: string): Record<string, unknown> {
    const kept = this.store.get(id);
    if (!kept) throw responseNotFound(id);
    if (kept.response.background !== true) throw badRequest('Only responses created with background set to true can be cancelled.');
    const status = statusOf(kept);
    if (status === 'cancelled') return kept.response;
    if (ENDED.has(status)) throw badRequest(`Cannot cancel a response that has ${status === 'failed' ? 'failed' : 'ended'} (status ${status}).`);
    const response = { ...kept.response, status: 'cancelled' };
    this.settle(id, { ...kept, response });
    this.stop(id);
    return response;
  }

  /** Forgets a response (DELETE /v1/responses/{id}); a background one still running is stopped first. */
  delete(id: string): boolean {
    this.stop(id);
    this.logs.get(id)?.end();
    this.logs.delete(id);
    return this.store.delete(id);
  }

  /** Stops the jobs running now without recording anything: the responses stay unfinished, for the next start. */
  close(): void {
    this.closed = true;
    this.queue.length = 0;
    for (const controller of this.running.values()) controller.abort();
    for (const log of this.logs.values()) log.end();
  }

  private stop(id: string): void {
    this.running.get(id)?.abort();
    const queued = this.queue.indexOf(id);
    if (queued >= 0) this.queue.splice(queued, 1);
  }

  private enqueue(id: string): void {
    if (this.closed || this.running.has(id) || this.queue.includes(id)) return;
    this.queue.push(id);
    this.startQueued();
  }

  private startQueued(): void {
    while (!this.closed && this.running.size < this.limits.running && this.queue.length) {
      const id = this.queue.shift()!;
      const controller = new AbortController();
      this.running.set(id, controller);
      void this.run(id, controller.signal)
        .catch((error: Error) => this.logger.error({ responseId: id, err: error.message }, 'a background response could not run'))
        .finally(() => {
          this.running.delete(id);
          this.startQueued();
        });
    }
  }

  /** One job after another until one is answered, fails for good, or the response's time runs out waiting for a provider. */
  private async run(id: string, signal: AbortSignal): Promise<void> {
    const first = this.pendingOf(id);
    if (!first) return;
    const giveUpAt = Date.now() + (first.pending.request.infernet?.timeout_s ?? DEFAULT_TIMEOUT_S) * 1000;
    while (!signal.aborted) {
      const busy = await this.runJob(id, signal);
      if (!busy) return;
      if (Date.now() + BUSY_RETRY_MS >= giveUpAt) return this.fail(id, busy);
      await sleep(BUSY_RETRY_MS, undefined, { signal }).catch(() => undefined);
    }
  }

  /** Runs the response's request as one job; answers the failure when it was refused for want of a free provider. */
  private async runJob(id: string, signal: AbortSignal): Promise<ApiError | undefined> {
    const kept = this.pendingOf(id);
    if (!kept) return undefined;
    const { request, history } = kept.pending;
    const jobId = randomUUID();
    let spec;
    let chat;
    try {
      ({ spec, chat } = responsesJobSpec(request, history, jobId));
    } catch (error) {
      // A request kept by an older node that this one no longer accepts.
      this.fail(id, error instanceof ApiError ? error : badRequest((error as Error).message));
      return undefined;
    }
    let busy: ApiError | undefined;
    const reply = new ResponsesReply(null, {
      jobId,
      responseId: id,
      createdAt: kept.response.created_at as number,
      stream: this.logs.has(id),
      ...(this.logs.has(id) ? { events: this.logs.get(id)! } : {}),
      echo: echoOf(request),
      mode: replyModeOf(chat),
      keep: (response, output) => {
        // Not when it was cancelled or forgotten meanwhile.
        if (!this.settle(id, { response, conversation: [...history, ...conversationOf(request.input), ...output], inputItems: kept.inputItems })) return;
        const conversationId = conversationIdOf(request);
        if (conversationId && this.conversations) addTurn(this.conversations, conversationId, request, response);
      },
      background: {
        started: (response) => this.update(id, response),
        failed: (response, error) => {
          // Refused before any provider took it, for want of one free now: it waits queued and asks again.
          if (error.status === 503 && statusOf(this.pendingOf(id) ?? kept) === 'queued') busy = error;
          else this.settle(id, { ...kept, response });
        },
      },
    });
    this.logger.debug({ responseId: id, jobId }, 'running a background response');
    try {
      await serveJobs([spec], reply, signal, this.services);
    } catch (error) {
      // No session with an aggregator (503, asked again) or a fault of this node.
      if (!signal.aborted) reply.fail(asApiError(error));
    }
    return busy;
  }

  private fail(id: string, error: ApiError): void {
    const kept = this.pendingOf(id);
    if (kept) this.settle(id, { ...kept, response: { ...kept.response, status: 'failed', error: { code: error.apiCode ?? error.type, message: error.message } } });
  }

  /** The kept response while it has not ended (not cancelled, deleted or forgotten meanwhile). */
  private pendingOf(id: string): (StoredResponse & { pending: NonNullable<StoredResponse['pending']> }) | undefined {
    const kept = this.store.get(id);
    return kept?.pending && isUnfinished(kept) ? (kept as StoredResponse & { pending: NonNullable<StoredResponse['pending']> }) : undefined;
  }

  /** A new state of a response still unfinished. */
  private update(id: string, response: Record<string, unknown>): void {
    const kept = this.pendingOf(id);
    if (kept) this.store.put(id, { ...kept, response });
  }

  /** The response's end: kept without its request, so no restart runs it again; false (nothing kept) once it ended otherwise. */
  private settle(id: string, entry: StoredResponse): boolean {
    if (!this.pendingOf(id)) return false;
    const { pending: _ran, ...ended } = entry;
    this.store.put(id, ended);
    this.endLog(id, ended.response);
    return true;
  }

  /**
   * A failed response's stream ends with response.failed, a cancelled one's with nothing more; a completed one's
   * reply sends its last events itself. The events stay for a client reading on, then go.
   */
  private endLog(id: string, response: Record<string, unknown>): void {
    const log = this.logs.get(id);
    if (!log) return;
    const status = response.status;
    if (status === 'failed') log.send('response.failed', { response });
    if (status === 'failed' || status === 'cancelled') log.end();
    setTimeout(() => {
      if (this.logs.get(id) === log) this.logs.delete(id);
    }, LOG_KEEP_MS).unref();
  }
}
