// Test-only: starts child-node.js (optionally behind a command prefix such as `ip netns exec NS`) and talks to it.
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import type { ChildCommand, ChildNodeConfig } from './child-node.js';

const CHILD_SCRIPT = fileURLToPath(new URL('./child-node.js', import.meta.url));

type ChildMessage = { type: 'ready'; peerId: string; multiaddrs: string[] } | ({ type: 'result'; cmd: string; error?: string } & Record<string, unknown>);

export class ChildNodeProcess {
  private readonly waiting: Array<(message: ChildMessage) => void> = [];
  private readonly queued: ChildMessage[] = [];
  readonly stderr: string[] = [];
  peerId = '';
  multiaddrs: string[] = [];

  private constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const message = JSON.parse(line) as ChildMessage;
      const waiter = this.waiting.shift();
      if (waiter) waiter(message);
      else this.queued.push(message);
    });
    child.stderr!.on('data', (chunk: Buffer) => this.stderr.push(chunk.toString()));
  }

  /** Starts the node and waits until it listens; `prefix` runs it through another command (ip netns exec). */
  static async start(config: ChildNodeConfig, prefix: string[] = [], timeoutMs = 20_000): Promise<ChildNodeProcess> {
    const argv = [...prefix, process.execPath, CHILD_SCRIPT, JSON.stringify(config)];
    const node = new ChildNodeProcess(spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'] }));
    const ready = await node.next(timeoutMs, 'ready');
    if (ready.type !== 'ready') throw new Error(`child node did not start: ${JSON.stringify(ready)}`);
    node.peerId = ready.peerId;
    node.multiaddrs = ready.multiaddrs;
    return node;
  }

  async command<T extends Record<string, unknown>>(command: ChildCommand, timeoutMs = 20_000): Promise<T> {
    this.child.stdin!.write(JSON.stringify(command) + '\n');
    const result = await this.next(timeoutMs, command.cmd);
    if (result.type === 'result' && result.error) throw new Error(`child ${command.cmd} failed: ${result.error}`);
    return result as unknown as T;
  }

  /** SIGKILL: no leaving notice, no goodbye, as when a machine loses power. */
  async kill(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.kill('SIGKILL');
    await exited;
  }

  /** A clean stop; killed if it takes longer than timeoutMs. */
  async stop(timeoutMs = 5_000): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = once(this.child, 'exit');
    this.child.stdin!.end(JSON.stringify({ cmd: 'stop' }) + '\n');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    await exited;
    clearTimeout(timer);
  }

  private next(timeoutMs: number, what: string): Promise<ChildMessage> {
    const queued = this.queued.shift();
    if (queued) return Promise.resolve(queued);
    if (this.child.exitCode !== null || this.child.signalCode !== null) return Promise.reject(this.exitedError(what));
    return new Promise((resolve, reject) => {
      const settle = (message?: ChildMessage): void => {
        clearTimeout(timer);
        this.child.off('exit', onExit);
        if (message) resolve(message);
      };
      const onMessage = (message: ChildMessage): void => settle(message);
      const onExit = (): void => {
        this.waiting.splice(this.waiting.indexOf(onMessage), 1);
        settle();
        reject(this.exitedError(what));
      };
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(onMessage), 1);
        settle();
        reject(new Error(`child node gave no ${what} answer within ${timeoutMs} ms; stderr: ${this.stderr.join('').slice(-2000)}`));
      }, timeoutMs);
      this.waiting.push(onMessage);
      this.child.once('exit', onExit);
    });
  }

  private exitedError(what: string): Error {
    return new Error(`child node exited (${this.child.exitCode ?? this.child.signalCode}) before its ${what} answer; stderr: ${this.stderr.join('').slice(-2000)}`);
  }
}
