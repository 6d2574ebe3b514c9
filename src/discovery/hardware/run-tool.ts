// One tool call, from command to parsed report: a missing tool gives nothing, a failing tool or unreadable output
// gives a warning, so that one broken tool costs only its own part of the profile.
import type { CommandRunner } from './command-runner.js';
import { HardwareOutputError } from './errors.js';

export type Warn = (message: string) => void;

export interface RunToolOptions {
  /** Parse what a failing tool printed too (ibstat lists the adapters it read before it panics). */
  parseFailedOutput?: boolean;
}

export async function runTool<T>(
  run: CommandRunner,
  command: string,
  args: readonly string[],
  parse: (text: string) => T,
  warn: Warn,
  { parseFailedOutput = false }: RunToolOptions = {},
): Promise<T | undefined> {
  const result = await run(command, args);
  if (result.status === 'missing') return undefined;
  if (result.status === 'failed') warn(result.error.message);
  const text = result.status === 'ok' ? result.stdout : parseFailedOutput ? result.error.output : undefined;
  if (text === undefined) return undefined;
  try {
    return parse(text);
  } catch (error) {
    if (!(error instanceof HardwareOutputError)) throw error;
    warn(error.message);
    return undefined;
  }
}
