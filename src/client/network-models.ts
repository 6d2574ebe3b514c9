// The client side of models.request: asks an aggregator which models its connected providers serve now.
import type { ModelOffer } from '../protocol/index.js';
import type { PeerSession } from '../transport/index.js';
import { InfernetError } from '../errors/index.js';

/** How long an aggregator has to answer models.request; an older one that lacks the frame answers with an error at once. */
export const MODELS_REQUEST_TIMEOUT_MS = 5_000;

export class ModelListUnavailableError extends InfernetError {
  override readonly name = 'ModelListUnavailableError';
  constructor(message: string) {
    super('internal', message);
  }
}

/** Every model some provider behind this aggregator serves now. Concurrent callers may share one answer. */
export function requestNetworkModels(session: PeerSession, timeoutMs = MODELS_REQUEST_TIMEOUT_MS): Promise<ModelOffer[]> {
  return new Promise<ModelOffer[]>((resolve, reject) => {
    const settle = (finish: () => void) => {
      clearTimeout(timer);
      unsubscribe();
      stopWatchingClose();
      finish();
    };
    const fail = (message: string) => settle(() => reject(new ModelListUnavailableError(message)));
    const timer = setTimeout(() => fail(`the aggregator did not answer models.request within ${timeoutMs} ms`), timeoutMs);
    const unsubscribe = session.onFrame((frame) => {
      if (frame.type === 'models.list') settle(() => resolve(frame.models));
      // An error without a job id concerns the frame last received: ours, from an aggregator that lacks it.
      else if (frame.type === 'error' && !frame.jobId) fail(`the aggregator refused models.request: ${frame.message}`);
    });
    let stopWatchingClose: () => void = () => undefined;
    stopWatchingClose = session.onClose((reason) => fail(`the aggregator session closed: ${reason}`));
    session.send({ type: 'models.request' });
  });
}
