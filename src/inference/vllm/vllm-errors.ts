// What can go wrong with a vLLM server and the jobs sent to it, each with a message an operator can act on.
import { InfernetError } from '../../errors/index.js';

/** The server did not start, did not become ready in time, or kept crashing: its last output says why. */
export class VllmServerError extends InfernetError {
  override readonly name = 'VllmServerError';
  constructor(
    readonly modelPath: string,
    message: string,
    readonly lastOutput: string,
    options?: { cause?: unknown },
  ) {
    super('engine_failed', lastOutput ? `${message}; its last output:\n${lastOutput}` : message, options);
  }
}

/** The server ended while it streamed a job: the job fails (to be run elsewhere), the server is restarted. */
export class VllmServerCrashedError extends InfernetError {
  override readonly name = 'VllmServerCrashedError';
  constructor(
    readonly modelPath: string,
    readonly processId: string,
    how: string,
    options?: { cause?: unknown },
  ) {
    super('engine_failed', `the vLLM server serving ${modelPath} (${processId}) ${how} during the job; it is restarted, and this job has failed`, options);
  }
}

/** The server answered a request with an error, or with something this engine cannot read. */
export class VllmRequestError extends InfernetError {
  override readonly name = 'VllmRequestError';
  constructor(
    readonly status: number | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super('engine_failed', message, options);
  }
}

/** A job this engine cannot run exactly on vLLM (a continuation with penalties or an output format). */
export class VllmUnsupportedJobError extends InfernetError {
  override readonly name = 'VllmUnsupportedJobError';
  constructor(message: string) {
    super('engine_failed', message);
  }
}

/**
 * The job had not finished at its deadline (its server still loading, or its request streaming): the request is
 * cancelled, so vLLM stops computing it.
 */
export class VllmDeadlineError extends InfernetError {
  override readonly name = 'VllmDeadlineError';
  constructor(readonly deadlineMs: number) {
    super('deadline_exceeded', `the job had not finished on vLLM at its deadline of ${Math.round(deadlineMs)} ms: its request was cancelled`);
  }
}
