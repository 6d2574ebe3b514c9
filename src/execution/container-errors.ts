// What can go wrong running a job in a container, each with a message an operator can act on.

export class DockerEngineUnreachableError extends Error {
  override readonly name = 'DockerEngineUnreachableError';
  constructor(
    readonly reason: string,
    options?: ErrorOptions,
  ) {
    super(`no Docker engine answers: ${reason}`, options);
  }
}

export class RuntimeImageMissingError extends Error {
  override readonly name = 'RuntimeImageMissingError';
  constructor(
    readonly image: string,
    options?: ErrorOptions,
  ) {
    super(`the runtime image ${image} is not on this Docker engine: run scripts/build-runtime-image.sh`, options);
  }
}

export class RuntimeImageBuildError extends Error {
  override readonly name = 'RuntimeImageBuildError';
  constructor(
    message: string,
    readonly output: string,
    options?: ErrorOptions,
  ) {
    super(output ? `${message}:\n${output}` : message, options);
  }
}

export class ContainerOutOfMemoryError extends Error {
  override readonly name = 'ContainerOutOfMemoryError';
  constructor(
    readonly containerId: string,
    readonly memoryBytes: number | undefined,
  ) {
    const limit = memoryBytes ? ` of ${Math.round(memoryBytes / 2 ** 20)} MiB` : '';
    super(`the job's container went past its memory limit${limit} and was killed`);
  }
}

export class ContainerDeadlineError extends Error {
  override readonly name = 'ContainerDeadlineError';
  constructor(
    readonly containerId: string,
    readonly deadlineMs: number,
  ) {
    super(`the job's container was still running at its deadline of ${deadlineMs} ms and was killed`);
  }
}

export class ContainerFailedError extends Error {
  override readonly name = 'ContainerFailedError';
  constructor(
    readonly containerId: string,
    readonly exitCode: number | null,
    /** The last lines the container wrote to stderr, oldest first. */
    readonly stderrTail: string[],
    reason?: string,
    options?: ErrorOptions,
  ) {
    const what = reason ?? (exitCode === null ? "the job's container failed" : `the job's container exited with code ${exitCode}`);
    super(stderrTail.length ? `${what}; its last output:\n${stderrTail.join('\n')}` : what, options);
  }
}
