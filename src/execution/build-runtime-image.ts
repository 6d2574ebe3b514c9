// The runtime image for this checkout, built by scripts/build-runtime-image.sh when its content hash is new and
// reused otherwise (about half a second). Needs the compiled worker in dist/ and a Docker engine.
import { RuntimeImageBuildError } from './container-errors.js';
import { runRepositoryScript, ScriptFailedError } from './repository-scripts.js';

const BUILD_TIMEOUT_MS = 300_000;

/** Returns the image's tag, `infernet-runtime:<content hash>`. */
export async function buildRuntimeImage(): Promise<string> {
  let stdout: string;
  try {
    ({ stdout } = await runRepositoryScript('build-runtime-image.sh', BUILD_TIMEOUT_MS));
  } catch (error) {
    const output = error instanceof ScriptFailedError ? error.output : (error as Error).message;
    throw new RuntimeImageBuildError('scripts/build-runtime-image.sh could not build the runtime image', output, { cause: error });
  }
  const tag = stdout.trim().split('\n').pop() ?? '';
  if (!/^[\w./-]+:[\w.-]+$/.test(tag)) throw new RuntimeImageBuildError('scripts/build-runtime-image.sh did not print an image tag', stdout);
  return tag;
}
