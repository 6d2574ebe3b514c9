// Makes a Docker engine answer here (installing and starting one as root when needed) through
// scripts/setup-docker.sh, for tests, CI and the bench. A daemon only detects an engine; it never installs one.
import { DockerEngineUnreachableError } from './container-errors.js';
import { runRepositoryScript, ScriptFailedError } from './repository-scripts.js';

const SETUP_TIMEOUT_MS = 180_000;

export async function setupDockerEngine(): Promise<void> {
  try {
    await runRepositoryScript('setup-docker.sh', SETUP_TIMEOUT_MS);
  } catch (error) {
    const output = error instanceof ScriptFailedError ? error.output : (error as Error).message;
    throw new DockerEngineUnreachableError(`scripts/setup-docker.sh could not start one:\n${output}`, { cause: error });
  }
}
