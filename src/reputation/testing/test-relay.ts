// Test-only: the Nostr relay built by scripts/setup-relay.sh (relay/: khatru, in memory), started on 127.0.0.1 on a
// free port as a child process, and stopped with its process.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { access, constants, readFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { InfernetError } from '../../errors/index.js';

const REPO_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..');
const START_TIMEOUT_MS = 10_000;

export class RelayNotBuiltError extends InfernetError {
  override readonly name = 'RelayNotBuiltError';
  constructor(readonly binaryPath: string) {
    super('internal', `the test Nostr relay is not built at ${binaryPath}: run scripts/setup-relay.sh (needs Go >= 1.26)`);
  }
}

/** Where scripts/setup-relay.sh puts the binary for the current relay/ sources. */
export async function relayBinaryPath(): Promise<string> {
  const hash = createHash('sha256');
  for (const file of ['go.mod', 'go.sum', 'main.go']) {
    hash.update(`${file}\0`);
    hash.update(await readFile(join(REPO_ROOT, 'relay', file)));
  }
  const cacheRoot = process.env.INFERNET_CACHE || join(homedir(), '.cache', 'infernet');
  return join(cacheRoot, `relay-${hash.digest('hex').slice(0, 16)}`, 'infernet-relay');
}

export interface TestRelay {
  /** ws://127.0.0.1:PORT */
  url: string;
  stop(): Promise<void>;
}

/** Starts the relay on 127.0.0.1 at `port` (0: any free port). */
export async function startTestRelay(port = 0): Promise<TestRelay> {
  const binary = await relayBinaryPath();
  await access(binary, constants.X_OK).catch(() => {
    throw new RelayNotBuiltError(binary);
  });
  const child = spawn(binary, ['-listen', `127.0.0.1:${port}`, '-stdin-lifeline'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const stderr: string[] = [];
  child.stderr!.on('data', (chunk: Buffer) => stderr.push(chunk.toString()));
  const address = await listeningAddress(child, stderr);
  return {
    url: `ws://${address}`,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

function listeningAddress(child: ChildProcess, stderr: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`the relay did not start within ${START_TIMEOUT_MS} ms: ${stderr.join('')}`));
    }, START_TIMEOUT_MS);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const match = /^listening (\S+)$/.exec(line);
      if (!match) return;
      clearTimeout(timer);
      resolve(match[1]!);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`the relay exited (${code}) before listening: ${stderr.join('')}`));
    });
  });
}
