// What a running daemon does with an error nobody caught. A promise rejected with no handler ends a Node process by
// default, and so does an exception thrown from an event listener: inside libp2p both can follow from a peer that
// drops its connection at the wrong moment (a stream reset or a drain on a connection already closing), so any
// stranger could stop a node that way. A daemon logs such errors and keeps serving: every job, payment and verdict
// it holds is persisted before it acts, so an abandoned promise loses nothing. An uncaught exception of any other
// kind still ends the process (after logging it), as its state may be broken.
import type { Logger } from '../log/index.js';

/** Errors libp2p's streams throw when a peer's connection closes under them: the peer's doing, not a broken node. */
const PEER_STREAM_ERRORS = new Set(['StreamStateError', 'StreamClosedError', 'StreamResetError', 'StreamAbortedError', 'MuxerClosedError', 'ConnectionClosedError']);

export type UncaughtErrorAction = 'log' | 'exit';

/** What to do with an error nobody caught; `rejection` is true for a rejected promise, false for an exception. */
export function uncaughtErrorAction(error: unknown, rejection: boolean): UncaughtErrorAction {
  if (rejection) return 'log';
  return isPeerStreamError(error) ? 'log' : 'exit';
}

/** An error libp2p throws when a peer's connection closes under one of its streams. */
export function isPeerStreamError(error: unknown): boolean {
  return error instanceof Error && PEER_STREAM_ERRORS.has(error.name);
}

/** Installs the daemon's handlers; returns a function that removes them. */
export function guardDaemonProcess(logger: Logger, exit: (code: number) => void = (code) => process.exit(code)): () => void {
  const handle = (rejection: boolean) => (error: unknown) => {
    const action = uncaughtErrorAction(error, rejection);
    logger.error({ err: error, action }, rejection ? 'unhandled promise rejection' : 'uncaught exception');
    if (action === 'exit') exit(1);
  };
  const onRejection = handle(true);
  const onException = handle(false);
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  return () => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  };
}
