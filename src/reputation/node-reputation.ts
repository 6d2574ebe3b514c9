// Reputation as a node configures it: relays and trusted raters from config.yaml, its history in the node's
// PocketBase (or reputation.jsonl beside a file store).
import { join } from 'node:path';
import type PocketBase from 'pocketbase';
import type { NodeConfig, NodeHome } from '../config/index.js';
import { publicKeyFromText, type NodeKey } from '../identity/index.js';
import type { Logger } from '../log/index.js';
import { FileReputationLedger, PocketBaseReputationLedger, type ReputationLedger } from './reputation-ledger.js';
import { ReputationService } from './reputation-service.js';

export const REPUTATION_FILE = 'reputation.jsonl';
const DAY_MS = 24 * 60 * 60 * 1000;

export function reputationLedgerOf(home: NodeHome, pocketbase: PocketBase | undefined): ReputationLedger {
  return pocketbase ? new PocketBaseReputationLedger(pocketbase) : new FileReputationLedger(join(home.dir, REPUTATION_FILE));
}

export interface StartNodeReputationOptions {
  home: NodeHome;
  config: NodeConfig;
  key: NodeKey;
  logger: Logger;
  pocketbase?: PocketBase;
}

export async function startNodeReputation({ home, config, key, logger, pocketbase }: StartNodeReputationOptions): Promise<ReputationService> {
  const { relays, trust, halfLifeDays } = config.reputation;
  return ReputationService.start({
    key,
    logger: logger.child({ component: 'reputation' }),
    ledger: reputationLedgerOf(home, pocketbase),
    relays,
    trusted: trust.map(publicKeyFromText),
    halfLifeMs: halfLifeDays * DAY_MS,
  });
}
