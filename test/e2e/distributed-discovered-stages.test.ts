// A head that is told no stage provider: its model says `workers: discover`, and it finds the providers that
// announce RPC stages open to it through the DHT, then runs an `infernet submit` job split across them. Real
// daemons as separate processes on loopback: two stage providers open to any head, one open only to another
// head (which must not be used), and the head.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LlamaServerEngine, locateLlamaRpcBinaries } from '../../src/distributed/index.js';
import { generateNodeKey } from '../../src/identity/index.js';
import { sharedModelPath } from '../../src/models/shared-test-models.js';
import { eventually, freePort, runCli, startDaemon, type RunningDaemon } from '../support/cli.js';

const MODEL = sharedModelPath('stories260K.gguf');
const PROMPT = 'Once upon a time, there was a little';
const MAX_TOKENS = 32;

interface Node {
  name: string;
  home: string;
  daemon: RunningDaemon;
  stagePort?: number;
}

describe('a head that finds its RPC stages through discovery', () => {
  let dir: string;
  const nodes: Node[] = [];
  let head: Node;
  let reference: string;

  const json = async (args: string[]) => {
    const result = await runCli(args);
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout);
  };

  /** A daemon from a config written here; `init` only makes its key. */
  async function startNode(name: string, config: Record<string, unknown>): Promise<Node> {
    const home = join(dir, name);
    const init = await runCli(['init', '--home', home, '--role', 'provider', '--port', '0', '--sandbox', 'none']);
    assert.equal(init.code, 0, init.stderr);
    await writeFile(join(home, 'config.json'), JSON.stringify({ listen: { host: '127.0.0.1', port: 0 }, storage: { backend: 'file' }, provider: { sandbox: 'none', contextSize: 512 }, ...config }));
    await rm(join(home, 'config.yaml'), { force: true });
    const node: Node = { name, home, daemon: await startDaemon(home) };
    nodes.push(node);
    return node;
  }

  async function stageNode(name: string, heads: string[] | 'any', bootstrap: string[]): Promise<Node> {
    const port = await freePort();
    const node = await startNode(name, {
      role: 'provider',
      discovery: { enabled: true, bootstrap },
      distributed: { worker: { host: '127.0.0.1', port, heads, sandbox: 'none', threads: 1, memoryMb: 1024 } },
    });
    node.stagePort = port;
    await eventually(() => /serving RPC stages/.test(node.daemon.log()), 15_000, `${name} serving stages`);
    return node;
  }

  before(async () => {
    locateLlamaRpcBinaries(); // fails here, with the set-up command, when llama.cpp is not built
    dir = await mkdtemp(join(tmpdir(), 'infernet-discovered-stages-'));
    const first = await stageNode('stage-a', 'any', []);
    let bootstrap = '';
    await eventually(async () => Boolean((bootstrap = ((await json(['status', '--home', first.home, '--json'])).multiaddrs ?? [])[0] ?? '')), 30_000, `stage-a's multiaddrs\n${first.daemon.log().slice(-2000)}`);
    await stageNode('stage-b', 'any', [bootstrap]);
    await stageNode('stage-closed', [generateNodeKey().npub], [bootstrap]);
    head = await startNode('head', {
      role: 'all',
      discovery: { enabled: true, bootstrap: [bootstrap] },
      distributed: { models: [{ path: MODEL, split: 'layer', workers: 'discover', keepWarmSeconds: 0 }] },
    });
    const local = new LlamaServerEngine({ threads: 1, contextSize: 512 });
    try {
      reference = (await local.generate({ modelPath: MODEL, input: { prompt: PROMPT }, sampling: { temperature: 0, maxTokens: MAX_TOKENS } })).text;
    } finally {
      await local.close();
    }
  });

  after(async () => {
    for (const node of nodes.reverse()) await node.daemon.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('runs a submitted job split over the two open stage providers, with the text of one process', async () => {
    const submitted = await runCli(['submit', '--home', head.home, '--model', 'stories260K', '--prompt', PROMPT, '--max-tokens', String(MAX_TOKENS), '--temperature', '0', '--json'], { timeoutMs: 120_000 });
    assert.equal(submitted.code, 0, `${submitted.stderr}\nhead log:\n${head.daemon.log().slice(-3000)}`);
    const job = JSON.parse(submitted.stdout) as { status: string; output: string };
    assert.equal(job.status, 'completed');
    assert.equal(job.output, reference);
    const opened = (node: Node) => /stage opened/.test(node.daemon.log());
    assert.deepEqual(
      nodes.filter((node) => node.stagePort).map((node) => [node.name, opened(node)]),
      [
        ['stage-a', true],
        ['stage-b', true],
        ['stage-closed', false],
      ],
    );
  });

  it('lists in `providers --json` the stage offers its lookup learnt of, open to it or not', async () => {
    let known: { stages?: unknown }[] = [];
    await eventually(async () => (known = (await json(['providers', '--home', head.home, '--json'])) as { stages?: unknown }[]).filter((provider) => provider.stages).length === 3, 60_000, 'the three stage offers to reach the head').catch((error: Error) => {
      throw new Error(`${error.message}; the head knows ${JSON.stringify(known)}`);
    });
    const offers = ((await json(['providers', '--home', head.home, '--json'])) as { npub: string; stages?: { endpoint: string; openToAnyHead: boolean } }[]).filter((provider) => provider.stages);
    const byNode = new Map(offers.map((offer) => [offer.npub, offer.stages!]));
    for (const node of nodes.filter((n) => n.stagePort)) {
      assert.deepEqual(byNode.get(node.daemon.npub), { endpoint: `ws://127.0.0.1:${node.stagePort}`, openToAnyHead: node.name !== 'stage-closed' });
    }
  });
});
