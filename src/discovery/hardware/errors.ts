import { InfernetError } from '../../errors/index.js';
/** How a tool that did start came to an unsuccessful end. */
export type CommandFailure =
  | { kind: 'exit'; code: number }
  | { kind: 'timeout'; afterMs: number }
  | { kind: 'signal'; signal: string };

/** A hardware tool was found but did not finish cleanly. */
export class HardwareCommandError extends InfernetError {
  override readonly name = 'HardwareCommandError';
  constructor(
    readonly command: string,
    readonly args: readonly string[],
    readonly failure: CommandFailure,
    /** stdout and stderr together, as a user would have seen them. */
    readonly output: string,
    options?: { cause?: unknown },
  ) {
    super('internal', `\`${[command, ...args].join(' ')}\` ${describeFailure(failure)}${quoteFirstLine(output)}`, options);
  }
}

/** A tool's output was not in a form its parser knows. */
export class HardwareOutputError extends InfernetError {
  override readonly name = 'HardwareOutputError';
  constructor(
    readonly tool: string,
    readonly detail: string,
    options?: { cause?: unknown },
  ) {
    super('internal', `could not read the output of ${tool}: ${detail}`, options);
  }
}

const MAX_QUOTED_CHARS = 200;

function describeFailure(failure: CommandFailure): string {
  switch (failure.kind) {
    case 'exit':
      return `exited with code ${failure.code}`;
    case 'timeout':
      return `gave no answer within ${failure.afterMs / 1000} s`;
    case 'signal':
      return `was killed by ${failure.signal}`;
  }
}

function quoteFirstLine(output: string): string {
  const line = output.split('\n').find((candidate) => candidate.trim() !== '')?.trim();
  if (!line) return '';
  return `: ${line.length > MAX_QUOTED_CHARS ? `${line.slice(0, MAX_QUOTED_CHARS)}…` : line}`;
}
