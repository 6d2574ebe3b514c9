import { resolve } from 'node:path';
import type { NodeConfig, NodeHome } from '../config/index.js';

/** Where a home keeps its API key hashes: the config's api.keysFile (relative to the home), else api-keys.json. */
export function apiKeysFileOf(home: NodeHome, config: NodeConfig): string {
  return config.api.keysFile ? resolve(home.dir, config.api.keysFile) : home.apiKeysFile;
}
