// The `infernet` command: dispatches to one command module and turns every failure into one line on stderr.
import { ConfigError } from '../config/index.js';
import { KeyFileError } from '../identity/index.js';
import { exitCodeOf, EXIT_CODES } from '../errors/index.js';
import { CliError } from './cli-error.js';
import { AGGREGATORS_USAGE, aggregatorsCommand } from './commands/aggregators.js';
import { APIKEY_USAGE, apikeyCommand } from './commands/apikey.js';
import { BATCH_USAGE, batchCommand } from './commands/batch.js';
import { INIT_USAGE, initCommand } from './commands/init.js';
import { JOBS_USAGE, jobsCommand } from './commands/jobs.js';
import { NET_USAGE, netCommand } from './commands/net.js';
import { PAIR_USAGE, pairCommand } from './commands/pair.js';
import { PLAN_USAGE, planCommand } from './commands/plan.js';
import { PROVIDERS_USAGE, providersCommand } from './commands/providers.js';
import { REPUTATION_USAGE, reputationCommand } from './commands/reputation.js';
import { CONTENT_USAGE, contentCommand } from './commands/content.js';
import { START_USAGE, startCommand } from './commands/start.js';
import { STATUS_USAGE, statusCommand } from './commands/status.js';
import { SUBMIT_USAGE, submitCommand } from './commands/submit.js';
import { TOP_USAGE, topCommand } from './commands/top.js';
import { WALLET_USAGE, walletCommand } from './commands/wallet.js';

const COMMANDS: Record<string, { run: (argv: string[]) => Promise<void>; usage: string }> = {
  init: { run: initCommand, usage: INIT_USAGE },
  start: { run: startCommand, usage: START_USAGE },
  submit: { run: submitCommand, usage: SUBMIT_USAGE },
  status: { run: statusCommand, usage: STATUS_USAGE },
  jobs: { run: jobsCommand, usage: JOBS_USAGE },
  plan: { run: planCommand, usage: PLAN_USAGE },
  providers: { run: providersCommand, usage: PROVIDERS_USAGE },
  aggregators: { run: aggregatorsCommand, usage: AGGREGATORS_USAGE },
  reputation: { run: reputationCommand, usage: REPUTATION_USAGE },
  content: { run: contentCommand, usage: CONTENT_USAGE },
  apikey: { run: apikeyCommand, usage: APIKEY_USAGE },
  net: { run: netCommand, usage: NET_USAGE },
  top: { run: topCommand, usage: TOP_USAGE },
  batch: { run: batchCommand, usage: BATCH_USAGE },
  pair: { run: pairCommand, usage: PAIR_USAGE },
  wallet: { run: walletCommand, usage: WALLET_USAGE },
};

/** Each command's usage text, as `infernet CMD --help` prints it (the README is checked against these). */
export const COMMAND_USAGES: Readonly<Record<string, string>> = Object.fromEntries(Object.entries(COMMANDS).map(([name, command]) => [name, command.usage]));

const USAGE = `infernet: an open peer-to-peer network for inference

Commands:
${Object.values(COMMANDS).map((command) => '  ' + command.usage.replace(/\n/g, '\n  ')).join('\n')}

--home defaults to $INFERNET_HOME, then ~/.infernet.`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE);
    return 0;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`infernet: unknown command "${name}" (try: ${Object.keys(COMMANDS).join(', ')})`);
    return EXIT_CODES.usage;
  }
  if (rest.includes('--help')) {
    console.log(command.usage);
    return 0;
  }
  try {
    await command.run(rest);
    return 0;
  } catch (error) {
    console.error(`infernet ${name}: ${describeFailure(error)}`);
    return exitCodeOf(error);
  }
}

function describeFailure(error: unknown): string {
  if (error instanceof CliError || error instanceof ConfigError || error instanceof KeyFileError) return error.message;
  if (error instanceof Error && (error as NodeJS.ErrnoException).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return error.message;
  if (error instanceof Error) return `${error.message}`.split('\n')[0] ?? 'failed';
  return String(error);
}
