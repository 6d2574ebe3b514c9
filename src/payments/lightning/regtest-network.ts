// A real Lightning regtest network for tests and the bench: btcd and two LND nodes (alice pays, bob is paid)
// from the binaries scripts/setup-lightning.sh builds into the cache, with a funded channel alice -> bob.
// About 15 s to a payable channel on an idle machine: start one per suite, not per test.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { request as httpsRequest } from 'node:https';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { LndRestClient, lndConnectionFromFiles } from './lnd-rest-client.js';
import { freeLoopbackPorts, stopChildProcess } from '../../processes/index.js';
import { InfernetError } from '../../errors/index.js';

export const BTCD_VERSION = 'v0.26.2';
export const LND_VERSION = 'v0.21.3-beta';
const START_TIMEOUT_MS = 90_000;
const RPC_USER = 'infernet';
const RPC_PASS = 'regtest-only';
/** Channel alice opens to bob. */
export const CHANNEL_SAT = 1_000_000n;

export class LightningBinariesMissingError extends InfernetError {
  override readonly name = 'LightningBinariesMissingError';
  constructor(readonly dir: string) {
    super('internal', `btcd and lnd are not built in ${dir}: run scripts/setup-lightning.sh once (it caches them)`);
  }
}

export function lightningBinDir(env: NodeJS.ProcessEnv = process.env): string {
  const cache = env.INFERNET_CACHE ?? join(homedir(), '.cache', 'infernet');
  return join(cache, `lightning-btcd-${BTCD_VERSION}-lnd-${LND_VERSION}`, 'bin');
}

export interface LndNode {
  name: string;
  dir: string;
  restUrl: string;
  tlsCertPath: string;
  macaroonPath: string;
  p2p: string;
  client: LndRestClient;
}

export interface RegtestNetwork {
  alice: LndNode;
  bob: LndNode;
  mine(blocks: number): Promise<void>;
  stop(): Promise<void>;
}

export async function startRegtestNetwork(): Promise<RegtestNetwork> {
  const bin = lightningBinDir();
  if (!['btcd', 'lnd'].every((name) => existsSync(join(bin, name)))) throw new LightningBinariesMissingError(bin);
  const dir = await mkdtemp(join(tmpdir(), 'infernet-regtest-'));
  const children = new Set<ChildProcess>();
  const stop = async () => {
    for (const child of [...children].reverse()) await stopChildProcess(child, 10_000);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    // Every port of the network chosen at once, all distinct: a port handed out twice makes lnd exit at start.
    const [btcdRpcPort, btcdP2pPort, ...lndPorts] = await freeLoopbackPorts(8);
    const btcdPorts = { rpc: btcdRpcPort!, p2p: btcdP2pPort! };
    const rpcCert = join(dir, 'btcd', 'rpc.cert');
    const startChainBackend = async (miningAddress?: string) => {
      const btcd = startBtcd(bin, dir, btcdPorts, miningAddress);
      children.add(btcd);
      await until(() => existsSync(rpcCert) && btcdRpc(btcdPorts.rpc, rpcCert, 'getblockcount', []).then(() => true, () => false), 'btcd to answer', btcd);
      return btcd;
    };
    const lnds = [lndSetup(dir, 'alice'), lndSetup(dir, 'bob')];
    lnds.forEach((lnd, i) => lnd.usePorts({ p2p: lndPorts[3 * i]!, rpc: lndPorts[3 * i + 1]!, rest: lndPorts[3 * i + 2]! }));
    const startLnds = async () => {
      const [alice, bob] = await Promise.all(lnds.map((lnd) => lnd.start(bin, btcdPorts.rpc, rpcCert, children)));
      return { alice: alice!, bob: bob! };
    };
    // btcd mines only to the address it was started with, and only alice's wallet can give one: a first btcd
    // lets the wallets be created, then it is restarted with alice's address.
    const firstBtcd = await startChainBackend();
    const miningAddress = await (await startLnds()).alice.client.newAddress();
    // The wallets stop with it and start again once the new btcd answers. Left running, each would find its
    // connection gone and redial on a back-off that grows by 5 s an attempt (btcd's rpcclient: 5, 10, 15 s...,
    // up to a minute): on a loaded machine, where btcd takes longer to come back, that wait alone outran the
    // deadline ("alice to see her mined coins"). Started against a btcd that answers, they connect at once.
    for (const lnd of lnds) await lnd.stop(children);
    await stopChildProcess(firstBtcd, 10_000);
    children.delete(firstBtcd);
    await startChainBackend(miningAddress);
    const { alice, bob } = await startLnds();
    const mine = async (blocks: number) => void (await btcdRpc(btcdPorts.rpc, rpcCert, 'generate', [blocks]));
    await mine(101);
    const height = Number(await btcdRpc(btcdPorts.rpc, rpcCert, 'getblockcount', []));
    await until(async () => {
      const info = await alice.client.getInfo();
      return info.blockHeight >= height && info.syncedToChain && (await alice.client.walletBalance()).confirmedSat > 0n;
    }, `alice to sync to block ${height} and see her mined coins`);
    await alice.client.connectPeer((await bob.client.getInfo()).identityPubkey, bob.p2p);
    const bobKey = (await bob.client.getInfo()).identityPubkey;
    await alice.client.openChannel(bobKey, CHANNEL_SAT);
    await mine(6);
    await until(async () => (await alice.client.activeChannels()).length > 0 && (await bob.client.activeChannels()).length > 0, 'the channel to become active');
    await warmUp(alice, bob);
    return { alice, bob, mine, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The first payment after "active" can fail for a moment (INSUFFICIENT_BALANCE): pay 1 sat until one succeeds. */
async function warmUp(alice: LndNode, bob: LndNode): Promise<void> {
  await until(async () => {
    const { paymentRequest } = await bob.client.addInvoice(1n, 'warm-up');
    return alice.client.payInvoice(paymentRequest).then((update) => update.status === 'SUCCEEDED', () => false);
  }, 'a first payment over the channel');
}

function startBtcd(bin: string, dir: string, ports: { rpc: number; p2p: number }, miningAddress?: string): ChildProcess {
  const appdata = join(dir, 'btcd');
  // An empty config file of its own, so no ~/.btcd/btcd.conf on the machine changes the network.
  mkdirSync(appdata, { recursive: true });
  writeFileSync(join(appdata, 'btcd.conf'), '');
  const args = ['--regtest', `--datadir=${join(appdata, 'data')}`, `--logdir=${join(appdata, 'logs')}`, `--configfile=${join(appdata, 'btcd.conf')}`, `--rpccert=${join(appdata, 'rpc.cert')}`, `--rpckey=${join(appdata, 'rpc.key')}`, `--rpcuser=${RPC_USER}`, `--rpcpass=${RPC_PASS}`, `--rpclisten=127.0.0.1:${ports.rpc}`, `--listen=127.0.0.1:${ports.p2p}`, '--txindex', '--debuglevel=warn'];
  if (miningAddress) args.push(`--miningaddr=${miningAddress}`);
  return spawn(join(bin, 'btcd'), args, { stdio: 'ignore' });
}

/** One LND node's directory and ports, kept across restarts (its wallet, channels and address stay the same). */
function lndSetup(dir: string, name: string) {
  const lnddir = join(dir, name);
  let ports: { p2p: number; rpc: number; rest: number } | undefined;
  let child: ChildProcess | undefined;
  return {
    usePorts(chosen: { p2p: number; rpc: number; rest: number }) {
      ports = chosen;
    },
    async start(bin: string, btcdRpcPort: number, rpcCert: string, children: Set<ChildProcess>): Promise<LndNode> {
      child = await spawnLnd(bin, lnddir, name, ports!, btcdRpcPort, rpcCert);
      children.add(child);
      const tlsCertPath = join(lnddir, 'tls.cert');
      const macaroonPath = join(lnddir, 'data', 'chain', 'bitcoin', 'regtest', 'admin.macaroon');
      const logTail = () => lndLogTail(lnddir);
      await until(() => existsSync(macaroonPath) && existsSync(tlsCertPath), `lnd ${name} to create its wallet`, child, logTail);
      const restUrl = `https://127.0.0.1:${ports!.rest}`;
      const client = new LndRestClient(await lndConnectionFromFiles(restUrl, tlsCertPath, macaroonPath));
      await until(() => client.getInfo().then(() => true, () => false), `lnd ${name} to answer over REST`, child, logTail);
      return { name, dir: lnddir, restUrl, tlsCertPath, macaroonPath, p2p: `127.0.0.1:${ports!.p2p}`, client };
    },
    async stop(children: Set<ChildProcess>) {
      if (!child) return;
      await stopChildProcess(child, 10_000);
      children.delete(child);
      child = undefined;
    },
  };
}

async function spawnLnd(bin: string, lnddir: string, name: string, ports: { p2p: number; rpc: number; rest: number }, btcdRpcPort: number, rpcCert: string): Promise<ChildProcess> {
  await mkdir(lnddir, { recursive: true });
  await writeFile(join(lnddir, 'lnd.conf'), '');
  return spawn(
    join(bin, 'lnd'),
    [
      `--lnddir=${lnddir}`,
      `--configfile=${join(lnddir, 'lnd.conf')}`,
      '--noseedbackup',
      '--bitcoin.regtest',
      '--bitcoin.node=btcd',
      `--btcd.rpchost=127.0.0.1:${btcdRpcPort}`,
      `--btcd.rpcuser=${RPC_USER}`,
      `--btcd.rpcpass=${RPC_PASS}`,
      `--btcd.rpccert=${rpcCert}`,
      `--listen=127.0.0.1:${ports.p2p}`,
      `--rpclisten=127.0.0.1:${ports.rpc}`,
      `--restlisten=127.0.0.1:${ports.rest}`,
      `--alias=${name}`,
      '--debuglevel=warn',
      '--trickledelay=50',
      '--nobootstrap',
    ],
    { stdio: 'ignore' },
  );
}

/** The last lines lnd wrote to its log, for the error when it exits early (its stdout is not kept). */
function lndLogTail(lnddir: string, lines = 20): string {
  const path = join(lnddir, 'logs', 'bitcoin', 'regtest', 'lnd.log');
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return `(no log at ${path})`;
  }
}

async function btcdRpc(port: number, certPath: string, method: string, params: unknown[]): Promise<unknown> {
  const ca = await readFile(certPath, 'utf8');
  return new Promise((resolve, reject) => {
    const req = httpsRequest(`https://127.0.0.1:${port}`, { method: 'POST', ca, auth: `${RPC_USER}:${RPC_PASS}`, headers: { 'content-type': 'application/json' } }, (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => (text += chunk.toString()));
      res.on('end', () => {
        try {
          const answer = JSON.parse(text) as { result: unknown; error: { message: string } | null };
          if (answer.error) reject(new Error(`btcd ${method}: ${answer.error.message}`));
          else resolve(answer.result);
        } catch {
          reject(new Error(`btcd ${method}: HTTP ${res.statusCode} ${text.slice(0, 200)}`));
        }
      });
    });
    req.on('error', reject);
    req.end(JSON.stringify({ jsonrpc: '1.0', id: 1, method, params }));
  });
}

async function until(check: () => boolean | Promise<boolean>, what: string, child?: ChildProcess, logTail?: () => string): Promise<void> {
  for (const deadline = Date.now() + START_TIMEOUT_MS; Date.now() < deadline; ) {
    if (child && child.exitCode !== null) throw new Error(`regtest: the process waited on exited (${child.exitCode}) before ${what}${logTail ? `; its log ends:\n${logTail()}` : ''}`);
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`regtest: timed out waiting for ${what}`);
}


