// The client role: asks an aggregator for a provider, sends the spec encrypted to that provider, and turns the
// frames that come back into streamed text and a verified result.
import { conversationKeyOf, unseal, type NodeKey } from '../identity/index.js';
import { npubOf } from '../identity/index.js';
import { attemptPaymentId, replaySpec, type LostAttempt } from '../jobs/job-failover.js';
import { embeddingVectorsProblem, jobKindOf, TokenBatch, type EmbeddingVectors, type ErrorCode, type Frame, type FrameOf, type JobSpec, type TokenFingerprint, type TokenLogprob } from '../protocol/index.js';
import type { JobPayer, JobPayment } from '../payments/terms/job-payer.js';
import { PaymentTermsRefusedError } from '../payments/terms/payment-terms.js';
import { newHoldSecret, runPaymentHashOf, sealHoldSecret } from '../payments/lightning/run-preimage.js';
import type { PeerSession } from '../transport/index.js';
import { openJobResult, outputHashOf, sealJobSpec } from '../jobs/job-envelopes.js';
import { InfernetError } from '../errors/index.js';

/**
 * A job that ended without its result. `reason` is what ended it: the wire code the network answered with, or
 * `closed` when the session with the aggregator closed first (which the wire code reports as provider_unreachable).
 */
export class JobFailedError extends InfernetError {
  override readonly name: string = 'JobFailedError';
  constructor(
    readonly jobId: string,
    readonly reason: ErrorCode | 'closed',
    message: string,
    options?: ErrorOptions,
  ) {
    super(reason === 'closed' ? 'provider_unreachable' : reason, message, options);
  }
}

/**
 * The payer of every job run over a session: set once per session, so that verification checks (jobs the client
 * runs itself under fresh ids, through the same session) pay like the primary run. hooks.payer overrides it.
 */
const sessionPayers = new WeakMap<PeerSession, JobPayer>();

export function payJobsThrough(session: PeerSession, payer: JobPayer): void {
  sessionPayers.set(session, payer);
}

export interface JobHooks {
  onMatched?: (providerPublicKey: string) => void;
  onAccepted?: () => void;
  onProgress?: (stage: string, message?: string) => void;
  onText?: (text: string, tokenIds: number[]) => void;
  signal?: AbortSignal;
  /** Ask the aggregator for this provider only (hex public key): a batch places each shard on its provider. */
  provider?: string;
  /** Providers the aggregator must not match (those that already ran another execution of this job). */
  exclude?: readonly string[];
  /** This run checks the job named (job.request.checkOf): the aggregator draws its provider. */
  checkOf?: string;
  /** Pays a match that carries payment terms, before the offer; defaults to the session's (payJobsThrough). */
  payer?: JobPayer;
  /** The job was paid (the deposit mined, or the hold invoice's payment in flight). */
  onPaid?: (payment: JobPayment) => void;
}

export interface JobOutcome {
  jobId: string;
  status: 'completed' | 'cancelled';
  output: string;
  provider: string;
  providerNpub: string;
  tokens: number;
  tokenIds: number[];
  finishReason: 'stop' | 'length' | 'cancelled';
  engine: string;
  promptTokens: number;
  resultEventId: string;
  /** sha256 of the output, as the provider signed it (always set by runJob). */
  outputHash?: string;
  /** Per-token fingerprints, when the provider's engine computes them (every generation: providers cannot tell checked jobs). */
  fingerprints?: TokenFingerprint[];
  /** Each token's text and logprob, when the spec asked for them. */
  logprobs?: TokenLogprob[];
  /** An embed job's vectors, one per input, checked against their count, dimensions and signed hash. */
  embeddings?: EmbeddingVectors;
  /** Client-side timings from the request: first and last streamed token, and the verified result. */
  firstTokenMs: number;
  lastTokenMs: number;
  totalMs: number;
  /** What the client paid for this run, when the match asked payment (the last attempt's, after a failover). */
  payment?: JobPayment;
  /** Providers lost before they finished (failover), in order; `provider` is the one that finished the job. */
  lost?: LostAttempt[];
}

/** Runs one job over an open session with an aggregator. Rejects with JobFailedError on any refusal. */
export function runJob(session: PeerSession, key: NodeKey, spec: JobSpec, hooks: JobHooks = {}): Promise<JobOutcome> {
  return new Promise<JobOutcome>((resolve, reject) => {
    const started = performance.now();
    let provider = '';
    let conversationKey: Uint8Array | undefined;
    let streamed = '';
    const streamedTokenIds: number[] = [];
    // Failover: what earlier providers streamed; the current one's tokens and result continue after it.
    let received = { text: '', tokenIds: [] as number[] };
    let attempt = 1;
    const lost: LostAttempt[] = [];
    let firstTokenMs = 0;
    let lastTokenMs = 0;
    let nextSeq = 0;
    let payment: JobPayment | undefined;
    let finished = false;
    const payer = hooks.payer ?? sessionPayers.get(session);
    // The preimages of this job's hold invoices are this node's (attack 7): one secret per request, sealed to the aggregator.
    const holdSecret = payer?.rails.includes('lightning') && session.peer?.pubkey ? newHoldSecret() : undefined;
    // Assigned below; a session that is already closed calls its close handler (and so settle) at once.
    let stopWatchingClose: () => void = () => undefined;
    const fail = (code: JobFailedError['reason'], message: string, options?: ErrorOptions) => settle(() => reject(new JobFailedError(spec.jobId, code, message, options)));
    const onAbort = () => {
      session.send({ type: 'job.cancel', jobId: spec.jobId, reason: 'cancelled by the client' });
      fail('cancelled', 'cancelled by the client');
    };
    const unsubscribe = session.onFrame((frame) => {
      if (!('jobId' in frame) || frame.jobId !== spec.jobId) return;
      try {
        handle(frame);
      } catch (error) {
        fail('bad_signature', (error as Error).message);
      }
    });
    const settle = (finish: () => void) => {
      if (finished) return;
      finished = true;
      unsubscribe();
      stopWatchingClose();
      hooks.signal?.removeEventListener('abort', onAbort);
      finish();
    };
    stopWatchingClose = session.onClose((reason) => fail('closed', `the aggregator session closed: ${reason}`));
    hooks.signal?.addEventListener('abort', onAbort, { once: true });

    const offer = (offered: JobSpec) => session.send({ type: 'job.offer', jobId: spec.jobId, spec: sealJobSpec(key, provider, offered) });

    /** Checks the match's terms against this node's own config and pays them; only a paid job is offered. */
    const payThenOffer = async (match: FrameOf<'job.match'>, offered: JobSpec): Promise<void> => {
      const paying = attempt;
      const refuse = (code: ErrorCode, message: string, options?: ErrorOptions) => {
        session.send({ type: 'job.cancel', jobId: spec.jobId, reason: message.slice(0, 1024) });
        fail(code, message, options);
      };
      if (!payer) return refuse('payment_required', `the aggregator asks payment on ${match.payment!.rail} for this job, and this node pays on no rail: add a payments section to its config`);
      try {
        // Each attempt pays under its own key: a lost one's deposit is refunded, never paid to the next provider.
        payment = await payer.pay(match.payment!, { jobId: attemptPaymentId(spec.jobId, paying), maxTokens: spec.sampling.maxTokens, jobDeadlineMs: spec.deadline, ...(match.price ? { price: match.price } : {}), ...(spec.priceCap ? { priceCap: spec.priceCap } : {}), provider: match.provider, ...(match.payoutStatement ? { payoutStatement: match.payoutStatement } : {}), ...(session.peer ? { aggregator: session.peer.pubkey } : {}), ...(match.aggregatorStatement ? { aggregatorStatement: match.aggregatorStatement } : {}), ...(holdSecret ? { holdPaymentHash: runPaymentHashOf(holdSecret, attemptPaymentId(spec.jobId, paying)) } : {}) });
      } catch (error) {
        // Terms this node will not pay are refused; a payment it could not make (funds, allowance, capacity) failed.
        return refuse(error instanceof PaymentTermsRefusedError ? 'payment_refused' : 'payment_failed', (error as Error).message, { cause: error });
      }
      if (finished || paying !== attempt) return; // cancelled, the session closed, or the provider lost, while paying
      hooks.onPaid?.(payment);
      offer(offered);
    };

    const handle = (frame: Frame): void => {
      switch (frame.type) {
        case 'job.match': {
          if (provider) {
            // Failover: the provider was lost; the next one continues after everything received so far.
            if (frame.lost) lost.push(frame.lost);
            received = { text: streamed, tokenIds: [...streamedTokenIds] };
            nextSeq = 0;
          }
          attempt = frame.attempt ?? 1;
          const offered = replaySpec(spec, received);
          if (!offered) {
            session.send({ type: 'job.cancel', jobId: spec.jobId, reason: 'every token arrived but the result was lost' });
            return fail('provider_unreachable', `the provider was lost after streaming every token but before its signed result (${frame.lost?.message ?? 'no reason given'})`);
          }
          provider = frame.provider;
          conversationKey = conversationKeyOf(key.secretKey, provider);
          hooks.onMatched?.(provider);
          if (!frame.payment) return void offer(offered);
          return void payThenOffer(frame, offered);
        }
        case 'job.accept':
          return hooks.onAccepted?.();
        case 'job.progress':
          return hooks.onProgress?.(frame.stage, frame.message);
        case 'job.tokens': {
          if (!conversationKey) throw new Error('tokens before a provider was matched');
          if (frame.seq !== nextSeq++) throw new Error(`token frame ${frame.seq} out of order`);
          const batch = TokenBatch.parse(JSON.parse(unseal(frame.data, conversationKey)));
          lastTokenMs = performance.now() - started;
          if (!streamed) firstTokenMs = lastTokenMs;
          streamed += batch.text;
          streamedTokenIds.push(...batch.tokenIds);
          return hooks.onText?.(batch.text, batch.tokenIds);
        }
        case 'job.result': {
          const output = openJobResult(key, frame.result, provider, spec.jobId);
          // After a failover the provider signed its continuation alone: the job's output is what came before and it.
          const fullOutput = received.text + output.output;
          const tokenIds = [...received.tokenIds, ...output.tokenIds];
          if (fullOutput !== streamed) throw new Error('the signed output differs from the streamed text');
          const embedInput = 'embed' in spec.input ? spec.input.embed : undefined;
          if (embedInput && !output.embeddings) throw new Error('the result of an embedding job carries no vectors');
          const vectorsProblem = embedInput && output.embeddings ? embeddingVectorsProblem(output.embeddings, embedInput.length) : undefined;
          if (vectorsProblem) throw new Error(`the embedding result is malformed: ${vectorsProblem}`);
          return settle(() =>
            resolve({
              jobId: spec.jobId,
              status: 'completed',
              output: fullOutput,
              provider,
              providerNpub: npubOf(provider),
              tokens: tokenIds.length,
              tokenIds,
              finishReason: output.finishReason,
              engine: output.engine,
              promptTokens: output.usage.promptTokens,
              resultEventId: frame.result.id,
              outputHash: outputHashOf({ output: fullOutput, ...(output.embeddings ? { embeddings: output.embeddings } : {}) }),
              ...(embedInput && output.embeddings ? { embeddings: output.embeddings } : {}),
              ...(output.fingerprints ? { fingerprints: output.fingerprints } : {}),
              ...(output.logprobs ? { logprobs: output.logprobs } : {}),
              firstTokenMs: firstTokenMs || performance.now() - started,
              lastTokenMs: lastTokenMs || performance.now() - started,
              totalMs: performance.now() - started,
              ...(payment ? { payment } : {}),
              ...(lost.length ? { lost } : {}),
            }),
          );
        }
        case 'job.reject':
        case 'error':
          return fail(frame.code, frame.message);
        default:
          return;
      }
    };

    session.send({ type: 'job.request', jobId: spec.jobId, model: spec.model, maxTokens: spec.sampling.maxTokens, deadline: spec.deadline, ...(spec.priceCap ? { priceCap: spec.priceCap } : {}), verification: spec.verification, ...(hooks.provider ? { provider: hooks.provider } : {}), ...(hooks.exclude?.length ? { exclude: [...hooks.exclude] } : {}), ...(hooks.checkOf ? { checkOf: hooks.checkOf } : {}), ...(payer?.rails.length ? { payment: { rails: [...payer.rails], ...(holdSecret ? { holdSecret: sealHoldSecret(holdSecret, key.secretKey, session.peer!.pubkey) } : {}) } } : {}), ...(jobKindOf(spec.input) !== 'generate' ? { kind: jobKindOf(spec.input) } : {}) });
  });
}
