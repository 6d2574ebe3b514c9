// One job from the phone: job.request to the node, the spec sealed to the matched provider, then its status,
// streamed text and verified result as events the screens and notifications follow.
import { openJobResult, randomHex, sealJobSpec, unseal } from './envelopes.js';
import { getConversationKey } from 'nostr-tools/nip44';
import type { NodeSession } from './node-session.js';
import type { PhoneKey } from './phone-key.js';
import { JobSpec, TokenBatch, type ErrorCode, type Frame, type Price } from './protocol.js';

export type JobStatus = 'requested' | 'matched' | 'running' | 'queued' | 'loading_model' | 'fetching_model' | 'generating' | 'completed' | 'failed' | 'cancelled';

export type JobEvent =
  | { type: 'status'; jobId: string; status: JobStatus; at: number; provider?: string; message?: string }
  | { type: 'text'; jobId: string; text: string; output: string }
  | { type: 'completed'; jobId: string; at: number; output: string; tokens: number; finishReason: string; provider: string; engine: string; totalMs: number }
  | { type: 'failed'; jobId: string; at: number; code: ErrorCode | 'closed' | 'bad_result'; message: string };

export interface SubmitJobParameters {
  model: string;
  prompt: string;
  maxTokens: number;
  temperature?: number;
  seed?: number;
  priceCap?: Price;
  /** How long the job may take before the node gives up on it. */
  timeoutMs?: number;
}

export interface SubmittedJob {
  jobId: string;
  /** Settles with the last event: completed, or failed (never rejects). */
  done: Promise<Extract<JobEvent, { type: 'completed' | 'failed' }>>;
  cancel(reason?: string): void;
}

export const DEFAULT_JOB_TIMEOUT_MS = 120_000;

export function newJobId(): string {
  return `m-${Date.now().toString(36)}-${randomHex(6)}`;
}

export function submitJob(session: NodeSession, key: PhoneKey, parameters: SubmitJobParameters, onEvent: (event: JobEvent) => void): SubmittedJob {
  const spec = JobSpec.parse({
    jobId: newJobId(),
    model: { name: parameters.model },
    input: { prompt: parameters.prompt },
    sampling: { temperature: parameters.temperature ?? 0, maxTokens: parameters.maxTokens, ...(parameters.seed !== undefined ? { seed: parameters.seed } : {}) },
    deadline: Date.now() + (parameters.timeoutMs ?? DEFAULT_JOB_TIMEOUT_MS),
    ...(parameters.priceCap ? { priceCap: parameters.priceCap } : {}),
  });
  const { jobId } = spec;
  const started = Date.now();
  let provider = '';
  let conversationKey: Uint8Array | undefined;
  let output = '';
  let nextSeq = 0;
  let settle!: (event: Extract<JobEvent, { type: 'completed' | 'failed' }>) => void;
  const done = new Promise<Extract<JobEvent, { type: 'completed' | 'failed' }>>((resolve) => (settle = resolve));
  let finished = false;
  // Assigned below; a session already closed calls its close listener (and so emit) at once.
  let stopFrames: () => void = () => undefined;
  let stopClose: () => void = () => undefined;

  const emit = (event: JobEvent) => {
    if (finished) return;
    if (event.type === 'completed' || event.type === 'failed') {
      finished = true;
      stopFrames();
      stopClose();
      onEvent(event);
      return settle(event);
    }
    onEvent(event);
  };
  const status = (value: JobStatus, extra: { provider?: string; message?: string } = {}) => emit({ type: 'status', jobId, status: value, at: Date.now(), ...extra });
  const fail = (code: Extract<JobEvent, { type: 'failed' }>['code'], message: string) => emit({ type: 'failed', jobId, at: Date.now(), code, message });

  const handle = (frame: Frame) => {
    switch (frame.type) {
      case 'job.match':
        provider = frame.provider;
        conversationKey = getConversationKey(key.secretKey, provider);
        status('matched', { provider });
        session.send({ type: 'job.offer', jobId, spec: sealJobSpec(key, provider, spec) });
        return;
      case 'job.accept':
        return status('running', { provider });
      case 'job.progress':
        return status(frame.stage, frame.message ? { message: frame.message } : {});
      case 'job.tokens': {
        if (!conversationKey) throw new Error('tokens before a provider was matched');
        if (frame.seq !== nextSeq++) throw new Error(`token frame ${frame.seq} out of order`);
        const batch = TokenBatch.parse(JSON.parse(unseal(frame.data, conversationKey)));
        output += batch.text;
        return emit({ type: 'text', jobId, text: batch.text, output });
      }
      case 'job.result': {
        const result = openJobResult(key, frame.result, provider, jobId);
        if (result.output !== output) throw new Error('the signed output differs from the streamed text');
        status('completed', { provider });
        return emit({ type: 'completed', jobId, at: Date.now(), output: result.output, tokens: result.tokenIds.length, finishReason: result.finishReason, provider, engine: result.engine, totalMs: Date.now() - started });
      }
      case 'job.reject':
      case 'error':
        if (frame.code === 'cancelled') status('cancelled', { message: frame.message });
        return fail(frame.code, frame.message);
      default:
        return;
    }
  };
  stopFrames = session.onFrame((frame) => {
    if (!('jobId' in frame) || frame.jobId !== jobId) return;
    try {
      handle(frame);
    } catch (error) {
      fail('bad_result', (error as Error).message);
    }
  });
  stopClose = session.onClose((reason) => fail('closed', `the connection to the node closed: ${reason}`));

  status('requested');
  const sent = session.send({ type: 'job.request', jobId, model: spec.model, maxTokens: spec.sampling.maxTokens, deadline: spec.deadline, verification: spec.verification, ...(spec.priceCap ? { priceCap: spec.priceCap } : {}) });
  if (!sent) fail('closed', 'not connected to the node');
  return {
    jobId,
    done,
    cancel: (reason = 'cancelled on the phone') => {
      session.send({ type: 'job.cancel', jobId, reason });
      status('cancelled', { message: reason });
      fail('cancelled', reason);
    },
  };
}
