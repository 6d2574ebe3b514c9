// `infernet start`: the foreground daemon. SIGINT or SIGTERM stop it cleanly; so does the end of its stdin when
// INFERNET_STOP_WITH_STDIN=1, which test harnesses set: a harness killed outright (a test runner's timeout, SIGKILL)
// closes the pipe, and its daemons stop with it instead of living on as orphans.
import { parseArgs } from 'node:util';
import { createLogger } from '../../log/index.js';
import { guardDaemonProcess, NodeDaemon, readLiveDaemonState } from '../../node/index.js';
import { CliError } from '../cli-error.js';
import { openNode } from '../open-node.js';

export const START_USAGE = `infernet start --home DIR
  Runs the node in the foreground, logging JSON lines to stdout.`;

export async function startCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { home: { type: 'string' } } });
  const { home, config, key } = await openNode(values.home);
  const running = await readLiveDaemonState(home.daemonStateFile);
  if (running) throw new CliError(`a daemon (pid ${running.pid}) is already running for ${home.dir}`);
  const logger = createLogger({ level: config.log.level });
  const stopsWithStdin = process.env.INFERNET_STOP_WITH_STDIN === '1';
  guardDaemonProcess(logger);
  const daemon = await NodeDaemon.start({ home, config, key, logger });
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
    if (stopsWithStdin) process.stdin.once('close', () => stop('stdin closed')).resume();
  });
  await daemon.stop();
  if (stopsWithStdin) process.stdin.destroy();
}
