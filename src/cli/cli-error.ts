import { EXIT_CODES, InfernetError } from '../errors/index.js';

/**
 * A failure the CLI reports as one line on stderr with a non-zero exit status: 1, or 2 for an unknown subcommand
 * (README). It is this node's own, never sent to a peer: its wire code is internal.
 */
export class CliError extends InfernetError {
  override readonly name: string = 'CliError';
  constructor(message: string, exitCode: number = EXIT_CODES.failure, options?: { cause?: unknown }) {
    super('internal', message, { ...options, exitCode });
  }
}
