// What can go wrong running a job in a container, each with a message an operator can act on.
import { InfernetError } from '../errors/index.js';

export class DockerEngineUnreachableError extends InfernetError {
  override readonly name = 'DockerEngineUnreachableError';
  constructor(
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super('sandbox_unavailable', `no Docker engine answers: ${reason}`, options);
  }
}

export class RuntimeImageMissingError extends InfernetError {
  override readonly name = 'RuntimeImageMissingError';
  constructor(
    readonly image: string,
    options?: ErrorOptions,
  ) {
    super('sandbox_unavailable', `the runtime image ${image} is not on this Docker engine: run scripts/build-runtime-image.sh`, options);
  }
}

export class RuntimeImageBuildError extends InfernetError {
  override readonly name = 'RuntimeImageBuildError';
  constructor(
    message: string,
    readonly output: string,
    options?: ErrorOptions,
  ) {
    super('sandbox_unavailable', output ? `${message}:\n${output}` : message, options);
  }
}

export class ContainerOutOfMemoryError extends InfernetError {
  override readonly name = 'ContainerOutOfMemoryError';
  constructor(
    readonly containerId: string,
    readonly memoryBytes: number | undefined,
  ) {
    const limit = memoryBytes ? ` of ${Math.round(memoryBytes / 2 ** 20)} MiB` : '';
    super('engine_failed', `the job's container went past its memory limit${limit} and was killed`);
  }
}

export class ContainerDeadlineError extends InfernetError {
  override readonly name = 'ContainerDeadlineError';
  constructor(
    readonly containerId: string,
    readonly deadlineMs: number,
  ) {
    super('deadline_exceeded', `the job's container was still running at its deadline of ${deadlineMs} ms and was killed`);
  }
}

export class ContainerFailedError extends InfernetError {
  override readonly name = 'ContainerFailedError';
  constructor(
    readonly containerId: string,
    readonly processExitCode: number | null,
    /** The last lines the container wrote to stderr, oldest first. */
    readonly stderrTail: string[],
    reason?: string,
    options?: ErrorOptions,
  ) {
    const what = reason ?? (processExitCode === null ? "the job's container failed" : `the job's container exited with code ${processExitCode}`);
    super('engine_failed', stderrTail.length ? `${what}; its last output:\n${stderrTail.join('\n')}` : what, options);
  }
}
