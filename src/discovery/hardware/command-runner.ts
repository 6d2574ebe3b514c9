// Runs the vendor tools (nvidia-smi, rocm-smi, ibstat). A tool that is not installed is the normal case on most
// machines, so it is reported as "missing" rather than thrown; a tool that fails is returned as an error value.
import { execFile, type ExecFileException } from 'node:child_process';
import { HardwareCommandError, type CommandFailure } from './errors.js';

export type CommandResult =
  | { status: 'ok'; stdout: string }
  | { status: 'missing' }
  | { status: 'failed'; error: HardwareCommandError };

export type CommandRunner = (command: string, args: readonly string[]) => Promise<CommandResult>;

/**
 * Long enough for nvidia-smi on a multi-GPU machine without persistence mode, where every call first brings up
 * each GPU; short enough that a hung driver does not stall a node's start.
 */
export const COMMAND_TIMEOUT_MS = 10_000;

// `nvidia-smi -q -x` on an 8-GPU machine is about 1 MB.
const MAX_OUTPUT_BYTES = 32 * 1024 * 1024;

export interface ExecFileRunnerOptions {
  timeoutMs?: number;
}

export function execFileRunner({ timeoutMs = COMMAND_TIMEOUT_MS }: ExecFileRunnerOptions = {}): CommandRunner {
  return (command, args) =>
    new Promise((resolve) => {
      const options = { timeout: timeoutMs, maxBuffer: MAX_OUTPUT_BYTES, env: { ...process.env, LC_ALL: 'C' } };
      execFile(command, [...args], options, (error, stdout, stderr) => {
        if (!error) return resolve({ status: 'ok', stdout });
        if (error.code === 'ENOENT') return resolve({ status: 'missing' });
        const output = [stdout, stderr].filter((part) => part !== '').join('\n');
        const failure = failureOf(error, timeoutMs);
        const commandError = new HardwareCommandError(command, args, failure, output, { cause: error });
        resolve({ status: 'failed', error: commandError });
      });
    });
}

function failureOf(error: ExecFileException, timeoutMs: number): CommandFailure {
  if (typeof error.code === 'number') return { kind: 'exit', code: error.code };
  if (error.killed && error.signal === 'SIGTERM') return { kind: 'timeout', afterMs: timeoutMs };
  if (error.signal) return { kind: 'signal', signal: error.signal };
  return { kind: 'exit', code: -1 };
}
