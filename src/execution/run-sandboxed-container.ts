// Runs one container to its end: create, attach stdin/stdout/stderr, start, feed stdin, stream stdout lines,
// kill it by id at the deadline or on cancel, tell an out-of-memory kill from other exits, and remove it on
// every path. The job-specific parts (what runs, which limits) come in as create options from a template.
import { once } from 'node:events';
import { Writable } from 'node:stream';
import type Docker from 'dockerode';
import type { Container, ContainerCreateOptions } from 'dockerode';
import { ContainerDeadlineError, ContainerFailedError, ContainerOutOfMemoryError, DockerEngineUnreachableError, RuntimeImageMissingError } from './container-errors.js';

const STDERR_TAIL_LINES = 20;
const STDERR_LINE_CHARS = 500;
const DEFAULT_MAX_LINE_BYTES = 4 * 2 ** 20;
/** How long the output may trail the exit before it is given up on (the daemon closes the attach at exit). */
const OUTPUT_DRAIN_MS = 2000;

export interface RunSandboxedContainerParameters {
  docker: Docker;
  spec: ContainerCreateOptions;
  /** Written to the container's stdin, which is then closed. */
  stdin?: string;
  /** Wall-clock limit from creation to exit; past it the container is killed. */
  deadlineMs: number;
  /** Aborting kills the container; the run then ends with `cancelled: true`. */
  signal?: AbortSignal;
  /** Each complete stdout line, without its newline, in order. */
  onStdoutLine?: (line: string) => void;
  /** A longer stdout line kills the container and fails the run, rather than filling the host's memory. */
  maxLineBytes?: number;
}

export interface SandboxedContainerExit {
  containerId: string;
  /** Null when the run was cancelled before the container started. */
  exitCode: number | null;
  cancelled: boolean;
  stderrTail: string[];
}

export async function runSandboxedContainer(parameters: RunSandboxedContainerParameters): Promise<SandboxedContainerExit> {
  const { docker, spec, signal } = parameters;
  if (signal?.aborted) return { containerId: '', exitCode: null, cancelled: true, stderrTail: [] };
  const container = await createContainer(docker, spec);
  const stderr = new StderrTail();
  let stopReason: 'deadline' | 'cancel' | 'line-too-long' | undefined;
  let started = false;
  const stop = (reason: NonNullable<typeof stopReason>): void => {
    if (stopReason) return;
    stopReason = reason;
    if (started) container.kill().catch(() => undefined);
  };
  const stdout = new LineWriter(parameters.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES, (line) => parameters.onStdoutLine?.(line), () => stop('line-too-long'));
  const timer = setTimeout(() => stop('deadline'), parameters.deadlineMs);
  const onAbort = (): void => stop('cancel');
  signal?.addEventListener('abort', onAbort, { once: true });
  let attached: NodeJS.ReadWriteStream | undefined;
  try {
    attached = await container.attach({ stream: true, hijack: true, stdin: true, stdout: true, stderr: true });
    const ended = once(attached, 'end').catch(() => undefined);
    docker.modem.demuxStream(attached, stdout, stderr);
    // 'next-exit', because the container is not running yet and the default condition would answer at once.
    const exited = container.wait({ condition: 'next-exit' }) as Promise<{ StatusCode: number }>;
    exited.catch(() => undefined);
    if (!stopReason) {
      await container.start().catch((error: unknown) => {
        throw new ContainerFailedError(container.id, null, [], `the job's container could not start: ${(error as Error).message}`, { cause: error });
      });
      started = true;
      if (stopReason) await container.kill().catch(() => undefined);
      if (parameters.stdin !== undefined) attached.write(parameters.stdin);
      attached.end();
    }
    if (!started) {
      if (stopReason === 'deadline') throw new ContainerDeadlineError(container.id, parameters.deadlineMs);
      return { containerId: container.id, exitCode: null, cancelled: true, stderrTail: [] };
    }
    const { StatusCode } = await exited;
    await Promise.race([ended, delay(OUTPUT_DRAIN_MS)]);
    stdout.flush();
    const state = (await container.inspect()).State;
    if (stopReason === 'deadline') throw new ContainerDeadlineError(container.id, parameters.deadlineMs);
    if (state.OOMKilled) throw new ContainerOutOfMemoryError(container.id, spec.HostConfig?.Memory);
    if (stopReason === 'line-too-long') {
      throw new ContainerFailedError(container.id, StatusCode, stderr.lines(), `the job's container wrote a line longer than ${parameters.maxLineBytes ?? DEFAULT_MAX_LINE_BYTES} bytes`);
    }
    return { containerId: container.id, exitCode: StatusCode, cancelled: stopReason === 'cancel', stderrTail: stderr.lines() };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
    (attached as unknown as { destroy?: () => void } | undefined)?.destroy?.();
    // A container that cannot be removed now (the engine went away) must not hide the job's own outcome;
    // reapOrphanContainers removes it at the daemon's next start.
    await removeContainer(container).catch((error: unknown) =>
      process.emitWarning(`container ${container.id} could not be removed: ${(error as Error).message}; the next daemon start removes it`, 'ContainerCleanupWarning'),
    );
  }
}

export async function createContainer(docker: Docker, spec: ContainerCreateOptions): Promise<Container> {
  try {
    return await docker.createContainer(spec);
  } catch (error) {
    const { statusCode, code } = error as { statusCode?: number; code?: string };
    if (statusCode === 404 && spec.Image) throw new RuntimeImageMissingError(spec.Image, { cause: error });
    if (code) throw new DockerEngineUnreachableError(`${code} (${(error as Error).message})`, { cause: error });
    throw error;
  }
}

/** Force-removes the container; one already gone (404) or already being removed (409) is fine. */
export async function removeContainer(container: Container): Promise<void> {
  try {
    await container.remove({ force: true, v: true });
  } catch (error) {
    const statusCode = (error as { statusCode?: number }).statusCode;
    if (statusCode !== 404 && statusCode !== 409) throw error;
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms).unref());
}

export class LineWriter extends Writable {
  private buffered: Buffer[] = [];
  private bufferedBytes = 0;
  private overflowed = false;

  constructor(
    private readonly maxLineBytes: number,
    private readonly onLine: (line: string) => void,
    private readonly onOverflow: () => void,
  ) {
    super();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    let start = 0;
    for (let newline = chunk.indexOf(10); newline !== -1; newline = chunk.indexOf(10, start)) {
      this.append(chunk.subarray(start, newline));
      this.emitLine();
      start = newline + 1;
    }
    this.append(chunk.subarray(start));
    callback();
  }

  /** Hands over a last line that had no newline. */
  flush(): void {
    if (this.bufferedBytes) this.emitLine();
  }

  private append(part: Buffer): void {
    if (this.overflowed || !part.length) return;
    this.bufferedBytes += part.length;
    if (this.bufferedBytes > this.maxLineBytes) {
      this.overflowed = true;
      this.buffered = [];
      this.onOverflow();
      return;
    }
    this.buffered.push(part);
  }

  private emitLine(): void {
    if (!this.overflowed) this.onLine(Buffer.concat(this.buffered).toString('utf8'));
    this.buffered = [];
    this.bufferedBytes = 0;
  }
}

/** Keeps the last lines of stderr, each cut short, for the error a failed job reports. */
export class StderrTail extends Writable {
  private tail: string[] = [];
  private partial = '';

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    const parts = (this.partial + chunk.toString('utf8')).split('\n');
    this.partial = (parts.pop() ?? '').slice(-STDERR_LINE_CHARS);
    for (const line of parts) this.keep(line);
    callback();
  }

  lines(): string[] {
    return this.partial ? [...this.tail, this.partial].slice(-STDERR_TAIL_LINES) : [...this.tail];
  }

  private keep(line: string): void {
    if (!line.trim()) return;
    this.tail.push(line.length > STDERR_LINE_CHARS ? `${line.slice(0, STDERR_LINE_CHARS)}…` : line);
    if (this.tail.length > STDERR_TAIL_LINES) this.tail.shift();
  }
}
