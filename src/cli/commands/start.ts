// `infernet start`: the foreground daemon. SIGINT or SIGTERM stop it cleanly.
import { parseArgs } from 'node:util';
import { createLogger } from '../../log/index.js';
import { NodeDaemon, readLiveDaemonState } from '../../node/index.js';
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
  const daemon = await NodeDaemon.start({ home, config, key, logger });
  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'shutting down');
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await daemon.stop();
}
