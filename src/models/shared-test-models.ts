// Locates the models in ../shared/models (beside the repository, for developers and CI alike) for tests.
// A missing model is a failed test with a message saying where it was looked for, never a silent skip.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InfernetError } from '../errors/index.js';

export class SharedModelMissingError extends InfernetError {
  override readonly name = 'SharedModelMissingError';
  constructor(readonly path: string) {
    super('internal', `Test model ${path} is missing: the shared folder must sit beside the repository as ../shared`);
  }
}

export function sharedModelPath(file: string): string {
  const path = join(repositoryRoot(), '..', 'shared', 'models', file);
  if (!existsSync(path)) throw new SharedModelMissingError(path);
  return path;
}

// Walks up from this module (in src/ or dist/src/) to the folder holding package.json; the working
// directory is the fallback for a copy of the compiled files without one.
function repositoryRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = resolve(dir, '..');
    if (parent === dir) return process.cwd();
    dir = parent;
  }
  return dir;
}
