// Starts a long-lived sandboxed container and hands back its stdin and stdout lines, for an engine that serves many
// jobs: unlike runSandboxedContainer it has no deadline of its own (each job has one), and it is removed on every
// path once it exits or is killed.
import type Docker from 'dockerode';
import type { ContainerCreateOptions } from 'dockerode';
import { ContainerFailedError } from './container-errors.js';
import { createContainer, LineWriter, removeContainer, StderrTail } from './run-sandboxed-container.js';

export interface StartSandboxedContainerParameters {
  docker: Docker;
  spec: ContainerCreateOptions;
  onStdoutLine: (line: string) => void;
  /** A longer stdout line kills the container. */
  maxLineBytes: number;
}

export interface SandboxedContainerEnd {
  exitCode: number | null;
  oomKilled: boolean;
  /** Set when the container was killed for writing a line longer than maxLineBytes. */
  lineTooLong: boolean;
  stderrTail: string[];
}

export interface StartedSandboxedContainer {
  id: string;
  /** Writes one line (a newline is added) to the container's stdin. */
  writeLine(line: string): void;
  /** Closes stdin, which asks the process inside to exit. */
  endInput(): void;
  kill(): Promise<void>;
  /** Resolves once the container has exited and been removed. */
  readonly ended: Promise<SandboxedContainerEnd>;
}

export async function startSandboxedContainer(parameters: StartSandboxedContainerParameters): Promise<StartedSandboxedContainer> {
  const { docker, spec } = parameters;
  const container = await createContainer(docker, spec);
  const stderr = new StderrTail();
  let lineTooLong = false;
  const kill = (): Promise<void> => container.kill().then(() => undefined, () => undefined);
  const stdout = new LineWriter(parameters.maxLineBytes, parameters.onStdoutLine, () => {
    lineTooLong = true;
    void kill();
  });
  let attached: NodeJS.ReadWriteStream;
  try {
    attached = await container.attach({ stream: true, hijack: true, stdin: true, stdout: true, stderr: true });
    docker.modem.demuxStream(attached, stdout, stderr);
    // 'next-exit', because the container is not running yet and the default condition would answer at once.
    const exited = container.wait({ condition: 'next-exit' }) as Promise<{ StatusCode: number }>;
    exited.catch(() => undefined);
    await container.start().catch((error: unknown) => {
      throw new ContainerFailedError(container.id, null, [], `the engine's container could not start: ${(error as Error).message}`, { cause: error });
    });
    const ended = (async (): Promise<SandboxedContainerEnd> => {
      try {
        const { StatusCode } = await exited.catch(() => ({ StatusCode: null as number | null }));
        stdout.flush();
        const state = await container.inspect().then((info) => info.State, () => undefined);
        return { exitCode: StatusCode, oomKilled: state?.OOMKilled ?? false, lineTooLong, stderrTail: stderr.lines() };
      } finally {
        (attached as unknown as { destroy?: () => void }).destroy?.();
        await removeContainer(container).catch((error: unknown) =>
          process.emitWarning(`container ${container.id} could not be removed: ${(error as Error).message}; the next daemon start removes it`, 'ContainerCleanupWarning'),
        );
      }
    })();
    return {
      id: container.id,
      writeLine: (line) => void attached.write(`${line}\n`),
      endInput: () => void attached.end(),
      kill,
      ended,
    };
  } catch (error) {
    await removeContainer(container).catch(() => undefined);
    throw error;
  }
}
