// The process that runs inside a job's container: one request from stdin, the in-process llama.cpp engine, JSON
// lines on stdout (a `text` message per piece, then one `result` or `error`). Anything else it prints goes to
// stderr, so that stdout carries nothing but the protocol.
// First: the thread pool's size is read at its first use (one-thread-pool-thread.ts says why).
import './one-thread-pool-thread.js';
import { LlamaCppEngine, PromptTooLongError } from '../inference/index.js';
import type { WorkerErrorMessage, WorkerMessage, WorkerRequest, WorkerResultMessage } from './worker-protocol.js';

console.log = console.error;
console.info = console.error;
console.debug = console.error;

function send(message: WorkerMessage): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(`${JSON.stringify(message)}\n`, (error) => (error ? reject(error) : resolve())));
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function errorMessage(error: unknown): WorkerErrorMessage {
  const { name, message } = error instanceof Error ? error : { name: 'Error', message: String(error) };
  const sizes = error instanceof PromptTooLongError ? { promptTokens: error.promptTokens, contextSize: error.contextSize } : {};
  return { type: 'error', name, message: message.slice(0, 16_000), ...sizes };
}

async function main(): Promise<number> {
  let request: WorkerRequest;
  try {
    request = JSON.parse(await readStdin()) as WorkerRequest;
  } catch (error) {
    await send(errorMessage(new Error(`the worker's request is not JSON: ${(error as Error).message}`)));
    return 2;
  }
  const engine = new LlamaCppEngine({ threads: request.threads, contextSize: request.contextSize, slots: 1 });
  try {
    const pending: Promise<void>[] = [];
    const result = await engine.generate({
      modelPath: request.modelPath,
      input: request.input,
      sampling: request.sampling,
      ...(request.logprobsTopK !== undefined ? { logprobsTopK: request.logprobsTopK } : {}),
      onText: (piece) => pending.push(send({ type: 'text', text: piece.text, tokenIds: piece.tokenIds })),
    });
    await Promise.all(pending);
    const message: WorkerResultMessage = { type: 'result', ...result };
    await send(message);
    return 0;
  } catch (error) {
    await send(errorMessage(error));
    return 1;
  }
}

// Exit without disposing the model: the container is removed right after, and disposal only adds latency.
main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
