// The client role: asks an aggregator for a provider, sends the spec encrypted to that provider, and turns the
// frames that come back into streamed text and a verified result.
import { conversationKeyOf, unseal, type NodeKey } from '../identity/index.js';
import { npubOf } from '../identity/index.js';
import { TokenBatch, type ErrorCode, type Frame, type JobSpec, type TokenFingerprint } from '../protocol/index.js';
import type { PeerSession } from '../transport/index.js';
import { openJobResult, sealJobSpec, sha256Hex } from './job-envelopes.js';

export class JobFailedError extends Error {
  override readonly name = 'JobFailedError';
  constructor(
    readonly jobId: string,
    readonly code: ErrorCode | 'closed',
    message: string,
  ) {
    super(message);
  }
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
  /** Per-token fingerprints, when the provider computed them (jobs with a verification policy). */
  fingerprints?: TokenFingerprint[];
  /** Client-side timings from the request: first and last streamed token, and the verified result. */
  firstTokenMs: number;
  lastTokenMs: number;
  totalMs: number;
}

/** Runs one job over an open session with an aggregator. Rejects with JobFailedError on any refusal. */
export function runJob(session: PeerSession, key: NodeKey, spec: JobSpec, hooks: JobHooks = {}): Promise<JobOutcome> {
  return new Promise<JobOutcome>((resolve, reject) => {
    const started = performance.now();
    let provider = '';
    let conversationKey: Uint8Array | undefined;
    let streamed = '';
    let firstTokenMs = 0;
    let lastTokenMs = 0;
    let nextSeq = 0;
    // Assigned below; a session that is already closed calls its close handler (and so settle) at once.
    let stopWatchingClose: () => void = () => undefined;
    const fail = (code: JobFailedError['code'], message: string) => settle(() => reject(new JobFailedError(spec.jobId, code, message)));
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
      unsubscribe();
      stopWatchingClose();
      hooks.signal?.removeEventListener('abort', onAbort);
      finish();
    };
    stopWatchingClose = session.onClose((reason) => fail('closed', `the aggregator session closed: ${reason}`));
    hooks.signal?.addEventListener('abort', onAbort, { once: true });

    const handle = (frame: Frame): void => {
      switch (frame.type) {
        case 'job.match':
          provider = frame.provider;
          conversationKey = conversationKeyOf(key.secretKey, provider);
          hooks.onMatched?.(provider);
          session.send({ type: 'job.offer', jobId: spec.jobId, spec: sealJobSpec(key, provider, spec) });
          return;
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
          return hooks.onText?.(batch.text, batch.tokenIds);
        }
        case 'job.result': {
          const output = openJobResult(key, frame.result, provider, spec.jobId);
          if (output.output !== streamed) throw new Error('the signed output differs from the streamed text');
          return settle(() =>
            resolve({
              jobId: spec.jobId,
              status: 'completed',
              output: output.output,
              provider,
              providerNpub: npubOf(provider),
              tokens: output.tokenIds.length,
              tokenIds: output.tokenIds,
              finishReason: output.finishReason,
              engine: output.engine,
              promptTokens: output.usage.promptTokens,
              resultEventId: frame.result.id,
              outputHash: sha256Hex(output.output),
              ...(output.fingerprints ? { fingerprints: output.fingerprints } : {}),
              firstTokenMs: firstTokenMs || performance.now() - started,
              lastTokenMs: lastTokenMs || performance.now() - started,
              totalMs: performance.now() - started,
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

    session.send({ type: 'job.request', jobId: spec.jobId, model: spec.model, maxTokens: spec.sampling.maxTokens, deadline: spec.deadline, ...(spec.priceCap ? { priceCap: spec.priceCap } : {}), verification: spec.verification, ...(hooks.provider ? { provider: hooks.provider } : {}), ...(hooks.exclude?.length ? { exclude: [...hooks.exclude] } : {}) });
  });
}
