// Runs one `infernet` command to its end and returns what it printed.
import { spawn } from 'node:child_process';
import type { InfernetCommand } from './infernet-command.js';

export interface InfernetRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

const RUN_TIMEOUT_MS = 60_000;

export class InfernetCommandError extends Error {
  override readonly name = 'InfernetCommandError';
  constructor(
    readonly args: readonly string[],
    readonly run: InfernetRun,
  ) {
    super(`infernet ${args.join(' ')} failed (exit ${run.code}): ${run.stderr.trim() || run.stdout.trim() || 'no output'}`);
  }
}

export function runInfernet(cli: InfernetCommand, args: string[], timeoutMs = RUN_TIMEOUT_MS): Promise<InfernetRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(cli.command, [...cli.args, ...args], { env: cli.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** Runs a command that must succeed. */
export async function runInfernetChecked(cli: InfernetCommand, args: string[]): Promise<string> {
  const run = await runInfernet(cli, args);
  if (run.code !== 0) throw new InfernetCommandError(args, run);
  return run.stdout;
}
