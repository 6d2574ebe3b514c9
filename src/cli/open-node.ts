// What every command needs from a node home: its config and its key.
import { loadNodeConfig, nodeHome, resolveHomeDir, type NodeConfig, type NodeHome } from '../config/index.js';
import { loadNodeKey, type NodeKey } from '../identity/index.js';

export interface OpenedNode {
  home: NodeHome;
  config: NodeConfig;
  key: NodeKey;
}

export async function openNode(homeFlag: string | undefined): Promise<OpenedNode> {
  const home = nodeHome(resolveHomeDir(homeFlag));
  const config = await loadNodeConfig(home);
  const key = await loadNodeKey(home.keyFile, process.env.INFERNET_PASSPHRASE);
  return { home, config, key };
}
