// Where scripts/build-backend.sh leaves the PocketBase backend binary: a cache outside the repository keyed by
// a hash of the backend's sources, so that a changed migration is never run by a stale binary.
import { createHash } from 'node:crypto';
import { access, constants, readdir, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { InfernetError } from '../errors/index.js';

export const BACKEND_BINARY_NAME = 'infernet-backend';
const SOURCE_HASH_HEX_DIGITS = 16;

export class BackendNotBuiltError extends InfernetError {
  override readonly name = 'BackendNotBuiltError';
  constructor(
    readonly binaryPath: string,
    options?: ErrorOptions,
  ) {
    super('internal', `the PocketBase backend is not built at ${binaryPath}: run scripts/build-backend.sh (needs Go >= 1.26)`, options);
  }
}

export interface BackendBinaryPathOptions {
  /** Folder holding backend/go.mod; found by walking up from this module when absent. */
  repoRoot?: string;
  /** Defaults to $INFERNET_CACHE, else ~/.cache/infernet, as in the build script. */
  cacheRoot?: string;
}

/** The path the build script writes the binary for the current backend sources to (it may not exist yet). */
export async function backendBinaryPath(options: BackendBinaryPathOptions = {}): Promise<string> {
  const repoRoot = options.repoRoot ?? (await findRepoRoot());
  const cacheRoot = options.cacheRoot ?? defaultCacheRoot();
  const hash = await backendSourceHash(join(repoRoot, 'backend'));
  return join(cacheRoot, `backend-${hash}`, BACKEND_BINARY_NAME);
}

/** The binary's path, or BackendNotBuiltError when the build script has not been run for these sources. */
export async function requireBackendBinary(options: BackendBinaryPathOptions = {}): Promise<string> {
  const path = await backendBinaryPath(options);
  try {
    await access(path, constants.X_OK);
  } catch (error) {
    throw new BackendNotBuiltError(path, { cause: error });
  }
  return path;
}

/**
 * sha256 over go.mod, go.sum and every .go file, sorted by path relative to backend/, each hashed as
 * "<path>\0<contents>"; the first 16 hex digits. scripts/build-backend.sh computes the same.
 */
export async function backendSourceHash(backendDir: string): Promise<string> {
  const hash = createHash('sha256');
  for (const file of await backendSourceFiles(backendDir)) {
    hash.update(`${file}\0`);
    hash.update(await readFile(join(backendDir, file)));
  }
  return hash.digest('hex').slice(0, SOURCE_HASH_HEX_DIGITS);
}

async function backendSourceFiles(backendDir: string): Promise<string[]> {
  const entries = await readdir(backendDir, { recursive: true, withFileTypes: true });
  const goFiles = entries
    .filter((entry) => entry.isFile() && entry.name.endsWith('.go'))
    .map((entry) => join(entry.parentPath, entry.name).slice(backendDir.length + 1).split('\\').join('/'));
  // Byte order, as `LC_ALL=C sort` in the script: the paths are ASCII, where code-unit order is byte order.
  return ['go.mod', 'go.sum', ...goFiles].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function defaultCacheRoot(): string {
  const fromEnv = process.env['INFERNET_CACHE'];
  return fromEnv ? fromEnv : join(homedir(), '.cache', 'infernet');
}

/** The nearest folder above this module that holds backend/go.mod (works from src/ and from dist/src/). */
async function findRepoRoot(): Promise<string> {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    try {
      await access(join(dir, 'backend', 'go.mod'));
      return dir;
    } catch {
      const parent = dirname(dir);
      if (parent === dir) throw new BackendNotBuiltError('backend/go.mod (sources not found above this module)');
      dir = parent;
    }
  }
}
