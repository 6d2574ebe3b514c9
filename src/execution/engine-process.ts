// How a warm engine process is started: sandboxed in a long-lived container (the provider's default), or as a plain
// child process (a provider with `sandbox: none`, and tests and benchmarks of the supervision). Either way the
// supervisor sees lines in, lines out, a kill, and an end with its exit code and last stderr lines.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type Docker from 'dockerode';
import { CURRENT_EXECUTION_TEMPLATE_VERSION, llamaCppContainerModelPath, llamaCppEngineContainerSpec, type ContainerLimits, type ExecutionTemplateVersion, type GpuRequest } from './execution-templates.js';
import { MAX_ENGINE_LINE_BYTES } from './engine-worker-protocol.js';
import { startSandboxedContainer } from './start-sandboxed-container.js';

export interface EngineProcessEnd {
  exitCode: number | null;
  /** Why it ended, when the host knows better than the exit code: killed for memory, a line too long. */
  reason?: string;
  stderrTail: string[];
}

export interface EngineProcess {
  /** The container id or the pid. */
  readonly id: string;
  /** The model's path as the process sees it. */
  readonly modelPath: string;
  writeLine(line: string): void;
  kill(): Promise<void>;
  /** Resolves once the process has ended (and its container is removed). */
  readonly ended: Promise<EngineProcessEnd>;
}

export interface LaunchEngineProcessParameters {
  /** Absolute path of the GGUF file on the host. */
  modelHostPath: string;
  onLine: (line: string) => void;
}

export type LaunchEngineProcess = (parameters: LaunchEngineProcessParameters) => Promise<EngineProcess>;

export interface ContainerEngineLauncherOptions {
  docker: Docker;
  image: string;
  /** This daemon's node id, labelled on the container so that reapOrphanContainers finds it after a crash. */
  nodeId: string;
  limits: ContainerLimits;
  /** The GPUs the container gets, when the engine runs on one. */
  gpus?: GpuRequest;
  templateVersion?: ExecutionTemplateVersion;
}

/** The engine in a container: no network, the model read-only, memory, CPU and process limits, non-root. */
export function containerEngineLauncher(options: ContainerEngineLauncherOptions): LaunchEngineProcess {
  const version = options.templateVersion ?? CURRENT_EXECUTION_TEMPLATE_VERSION;
  return async ({ modelHostPath, onLine }) => {
    const engineId = `engine-${createHash('sha256').update(modelHostPath).digest('hex').slice(0, 16)}`;
    const spec = llamaCppEngineContainerSpec({ version, image: options.image, owner: { jobId: engineId, nodeId: options.nodeId }, modelHostPath, limits: options.limits, ...(options.gpus ? { gpus: options.gpus } : {}) });
    const container = await startSandboxedContainer({ docker: options.docker, spec, onStdoutLine: onLine, maxLineBytes: MAX_ENGINE_LINE_BYTES });
    return {
      id: container.id,
      modelPath: llamaCppContainerModelPath(version),
      writeLine: container.writeLine,
      kill: container.kill,
      ended: container.ended.then((end) => ({
        exitCode: end.exitCode,
        ...(end.oomKilled ? { reason: `was killed at its memory limit of ${Math.round(options.limits.memoryBytes / 2 ** 20)} MiB` } : end.lineTooLong ? { reason: 'wrote a line too long and was killed' } : {}),
        stderrTail: end.stderrTail,
      })),
    };
  };
}

const STDERR_TAIL_LINES = 20;

/** The engine as an unsandboxed child process of this one: a provider's with `sandbox: none`, and tests' and benchmarks'. */
export function childProcessEngineLauncher(): LaunchEngineProcess {
  const worker = fileURLToPath(new URL('./engine-worker.js', import.meta.url));
  return async ({ modelHostPath, onLine }) => {
    const child = spawn(process.execPath, [worker], { stdio: ['pipe', 'pipe', 'pipe'] });
    const stderrTail: string[] = [];
    createInterface({ input: child.stderr }).on('line', (line) => {
      if (!line.trim()) return;
      stderrTail.push(line.slice(0, 500));
      if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
    });
    const stdoutClosed = new Promise<void>((resolve) => createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', onLine).on('close', resolve));
    child.stdin.on('error', () => undefined);
    const exited = new Promise<EngineProcessEnd>((resolve) =>
      child.on('exit', (code, signal) => resolve({ exitCode: code, ...(signal ? { reason: `was killed by ${signal}` } : {}), stderrTail })),
    );
    await new Promise<void>((resolve, reject) => child.once('spawn', resolve).once('error', reject));
    return {
      id: String(child.pid),
      modelPath: modelHostPath,
      writeLine: (line) => void child.stdin.write(`${line}\n`),
      kill: async () => void child.kill('SIGKILL'),
      ended: exited.then(async (end) => (await stdoutClosed, end)),
    };
  };
}
