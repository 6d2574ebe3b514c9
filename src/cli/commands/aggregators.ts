// `infernet aggregators`: the aggregators this client would send its jobs to, best first: those its config names
// (a fixed choice), or else those a discovery lookup finds through its bootstrap peers, ranked.
import { parseArgs } from 'node:util';
import { findAggregators } from '../../client/index.js';
import { createLogger } from '../../log/index.js';
import { openNodeStore } from '../../node/node-store.js';
import { CliError } from '../cli-error.js';
import { openNode } from '../open-node.js';

export const AGGREGATORS_USAGE = `infernet aggregators --home DIR [--model NAME] [--json]
  Lists the aggregators this node's jobs go to, best first: the configured ones (--connect; source config), or
  else those found through discovery (--bootstrap; source discovery), ranked by reputation (this node's own jobs
  there, over the network's score), round trip and fee, those whose providers serve --model first. Each with
  endpoint, peer id, fee, models, latency, reputation and score.`;

export async function aggregatorsCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { home: { type: 'string' }, model: { type: 'string' }, json: { type: 'boolean' } } });
  const node = await openNode(values.home);
  const logger = createLogger({ level: 'warn', fd: 2 });
  // The node's own jobs: how they went at each aggregator weighs on its rank, as it does for submit.
  const { store, close } = await openNodeStore(node.home, node.config, logger);
  const found = await findAggregators({ config: node.config, key: node.key, logger, store, ...(values.model ? { model: values.model } : {}) })
    .catch((error: Error) => {
      throw new CliError(error.message);
    })
    .finally(close);
  const listed = found.map((aggregator) => ({
    endpoint: aggregator.endpoint,
    peerId: aggregator.peerId ?? null,
    pubkey: aggregator.pubkey ?? null,
    feeBps: aggregator.feeBps ?? null,
    models: aggregator.models,
    load: aggregator.load ?? null,
    latencyMs: aggregator.latencyMs ?? null,
    reputation: Math.round(aggregator.scores.reputation * 1000) / 1000,
    score: Math.round(aggregator.score * 1000) / 1000,
    source: aggregator.source,
  }));
  if (values.json) return console.log(JSON.stringify(listed, null, 2));
  for (const aggregator of listed) {
    const latency = aggregator.latencyMs === null ? '' : `  ${aggregator.latencyMs.toFixed(1)} ms`;
    const fee = aggregator.feeBps === null ? '' : `  fee ${aggregator.feeBps} bps`;
    console.log(`${aggregator.endpoint}  ${aggregator.source}${fee}${latency}  score ${aggregator.score}  ${aggregator.models.join(',') || '(no models yet)'}`);
  }
}
