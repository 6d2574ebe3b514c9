// Runs the repository's shell scripts (scripts/setup-docker.sh, scripts/build-runtime-image.sh) from the
// compiled code, wherever the checkout is: found by walking up from this module to package.json.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InfernetError } from '../errors/index.js';

export interface ScriptRun {
  stdout: string;
  stderr: string;
}

export class ScriptFailedError extends InfernetError {
  override readonly name = 'ScriptFailedError';
  constructor(
    readonly script: string,
    readonly output: string,
    options?: ErrorOptions,
  ) {
    super('internal', `${script} failed${output ? `:\n${output}` : ''}`, options);
  }
}

export function runRepositoryScript(script: string, timeoutMs: number): Promise<ScriptRun> {
  const path = join(repositoryRoot(), 'scripts', script);
  return new Promise((resolvePromise, reject) => {
    execFile('bash', [path], { timeout: timeoutMs, maxBuffer: 16 * 2 ** 20 }, (error, stdout, stderr) => {
      if (error) reject(new ScriptFailedError(`scripts/${script}`, lastLines(`${stderr}\n${stdout}`, 30), { cause: error }));
      else resolvePromise({ stdout, stderr });
    });
  });
}

function lastLines(text: string, count: number): string {
  return text.trim().split('\n').slice(-count).join('\n');
}

export function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = resolve(dir, '..');
    if (parent === dir) return process.cwd();
    dir = parent;
  }
  return dir;
}
