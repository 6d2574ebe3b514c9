// What can go wrong with a warm engine process, each with a message an operator can act on.
import { InfernetError } from '../errors/index.js';

/** The engine process serving a model ended while it held jobs: those jobs fail with this, to be run elsewhere. */
export class EngineCrashedError extends InfernetError {
  override readonly name = 'EngineCrashedError';
  constructor(
    readonly modelPath: string,
    /** The container id or pid of the engine that ended. */
    readonly processId: string,
    readonly processExitCode: number | null,
    /** The last lines the engine wrote to stderr, oldest first. */
    readonly stderrTail: string[],
    /** Why, when known: killed for memory, a line too long. */
    readonly reason?: string,
  ) {
    const how = reason ?? (processExitCode === null ? 'ended' : `exited with code ${processExitCode}`);
    const what = `the engine serving ${modelPath} (${processId.slice(0, 12)}) ${how}; it is restarted, and the jobs it held have failed`;
    super('engine_failed', stderrTail.length ? `${what}; its last output:\n${stderrTail.join('\n')}` : what);
  }
}

/** The engine wrote a line about a job that the host cannot read: that job fails, the engine serves on. */
export class EngineProtocolError extends InfernetError {
  override readonly name = 'EngineProtocolError';
  constructor(
    readonly modelPath: string,
    reason: string,
    cause?: unknown,
  ) {
    super('engine_failed', `the engine serving ${modelPath} answered a job with a message the host cannot read: ${reason}`, { cause });
  }
}
