// Test fixtures: real libp2p nodes on loopback holding content, and deterministic files of any size written
// without holding them in memory. Not part of the module's public face.
import { createCipheriv, createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { createDiscoveryNode, type DiscoveryNode } from '../discovery/index.js';
import { generateNodeKey } from '../identity/index.js';
import { createLogger } from '../log/index.js';
import { ContentService } from './content-service.js';

export const testLogger = createLogger({ level: 'warn', fd: 2 });

/**
 * Writes `size` deterministic pseudo-random bytes (an AES-CTR keystream of `seed`), 4 MiB at a time;
 * returns their sha256 (hex), computed on the way so the file is not read again.
 */
export async function writeDeterministicFile(path: string, size: number, seed = 1): Promise<string> {
  const cipher = createCipheriv('aes-128-ctr', Buffer.alloc(16, seed), Buffer.alloc(16, 0));
  const hash = createHash('sha256');
  const zeros = Buffer.alloc(4 * 1024 * 1024);
  const file = await open(path, 'w');
  try {
    for (let written = 0; written < size; ) {
      const length = Math.min(zeros.byteLength, size - written);
      const bytes = cipher.update(zeros.subarray(0, length));
      hash.update(bytes);
      await file.write(bytes, 0, length, written);
      written += length;
    }
  } finally {
    await file.close();
  }
  return hash.digest('hex');
}

export interface TestPeer {
  node: DiscoveryNode;
  content: ContentService;
  homeDir: string;
  /** A dialable address with /p2p/. */
  address: string;
  stop(): Promise<void>;
  /** Dies the way a killed process does: every connection reset at once, then the node stopped. */
  kill(): Promise<void>;
}

/** A libp2p node on loopback serving and providing the content of <dir>/<name>/content. */
export async function startTestPeer(dir: string, name: string, bootstrap: string[] = []): Promise<TestPeer> {
  const homeDir = join(dir, name);
  const node = await createDiscoveryNode({ key: generateNodeKey(), logger: testLogger, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap, allow: ['/ip4/127.0.0.1'] });
  await node.connectBootstrap();
  const content = await ContentService.start({ libp2p: node.libp2p, homeDir, logger: testLogger, scanIntervalMs: 200 });
  const address = node.multiaddrs().find((candidate) => candidate.includes('/tcp/') && !candidate.includes('/ws') && !candidate.includes('p2p-circuit'))!;
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    await content.stop();
    await node.stop();
  };
  return {
    node,
    content,
    homeDir,
    address,
    stop,
    kill: async () => {
      for (const connection of node.libp2p.getConnections()) connection.abort(new Error('killed'));
      await stop();
    },
  };
}
