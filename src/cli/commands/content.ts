// `infernet content add|get|ls`: files by content id. add hashes a file into the node's store (or references it
// in place), get fetches one from the peers holding it (found in the DHT, or named with --peer), ls lists what
// the node holds. A running daemon on the home serves and announces what add put there.
import { parseArgs } from 'node:util';
import type { Libp2p, PeerId } from '@libp2p/interface';
import type { CID } from 'multiformats/cid';
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr';
import { ContentStore, ContentStoreError, fetchContent, InvalidCidError, NoProvidersError, parseCid, sha256OfFile, UnsupportedContentError, type FetchProgress } from '../../content/index.js';
import { createDiscoveryNode } from '../../discovery/index.js';
import { generateNodeKey } from '../../identity/index.js';
import { createLogger } from '../../log/index.js';
import { EXIT_CODES } from '../../errors/index.js';
import { isPeerStreamError } from '../../node/index.js';
import { CliError } from '../cli-error.js';
import { openNode } from '../open-node.js';

export const CONTENT_USAGE = `infernet content add PATH --home DIR [--in-place] [--name NAME] [--json]
  Hashes PATH into its content id (the CID IPFS gives it with --cid-version 1 --raw-leaves) and stores it in the
  home, or with --in-place references the file where it is, without a copy. --json prints {cid, size, ...}.
infernet content get CID --out PATH --home DIR [--peer MULTIADDR]... [--no-dht] [--json]
  Fetches CID from the peers that hold it (DHT providers of the home's discovery network, and any --peer),
  verifying every chunk; resumes an interrupted fetch. A progress bar on a terminal, JSON lines otherwise.
infernet content ls --home DIR [--json]
  Lists the content this node holds.`;

/** How long `get` waits for the DHT to name a first holder. */
const FIND_HOLDERS_WAIT_MS = 15_000;

export async function contentCommand(argv: string[]): Promise<void> {
  const [sub, ...rest] = argv;
  if (sub === 'add') return addCommand(rest);
  if (sub === 'get') return getCommand(rest);
  if (sub === 'ls') return lsCommand(rest);
  throw new CliError(`unknown content subcommand ${JSON.stringify(sub ?? '')}: usage:\n${CONTENT_USAGE}`, EXIT_CODES.usage);
}

async function addCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args: argv, allowPositionals: true, options: { home: { type: 'string' }, 'in-place': { type: 'boolean' }, name: { type: 'string' }, json: { type: 'boolean' } } });
  const [path, ...extra] = positionals;
  if (!path || extra.length) throw new CliError('content add takes one file path');
  const { home } = await openNode(values.home);
  const store = new ContentStore(home.dir);
  let manifest;
  try {
    manifest = await store.add(path, { inPlace: Boolean(values['in-place']), ...(values.name ? { name: values.name } : {}) });
  } catch (error) {
    if (error instanceof ContentStoreError) throw new CliError(error.message);
    throw error;
  }
  if (values.json) return console.log(JSON.stringify(manifest, null, 2));
  console.log(`${manifest.cid}  ${manifest.size} bytes  ${manifest.inPlace ? `referenced in place at ${manifest.path}` : 'copied into the store'}`);
}

async function lsCommand(argv: string[]): Promise<void> {
  const { values } = parseArgs({ args: argv, options: { home: { type: 'string' }, json: { type: 'boolean' } } });
  const { home } = await openNode(values.home);
  const manifests = await new ContentStore(home.dir).list();
  if (values.json) return console.log(JSON.stringify(manifests, null, 2));
  if (!manifests.length) return console.log('no content held');
  for (const manifest of manifests) console.log(`${manifest.cid}  ${String(manifest.size).padStart(14)}  ${manifest.inPlace ? 'in place' : 'stored  '}  ${manifest.name}`);
}

async function getCommand(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { home: { type: 'string' }, out: { type: 'string' }, peer: { type: 'string', multiple: true }, 'no-dht': { type: 'boolean' }, json: { type: 'boolean' } },
  });
  const [cidText, ...extra] = positionals;
  if (!cidText || extra.length) throw new CliError('content get takes one content id');
  if (!values.out) throw new CliError('content get needs --out PATH');
  let cid;
  try {
    cid = parseCid(cidText);
  } catch (error) {
    if (error instanceof InvalidCidError) throw new CliError(error.message);
    throw error;
  }
  const peers = (values.peer ?? []).map(parsePeer);
  const useDht = !values['no-dht'];
  const { home, config } = await openNode(values.home);
  if (useDht && !config.discovery.enabled && !peers.length) throw new CliError(`discovery is off for ${home.dir}: init with --bootstrap MULTIADDR, or name holders with --peer MULTIADDR`);
  const logger = createLogger({ level: 'warn', fd: 2 });
  const memory = new MemoryPeak();
  // A node of its own, with a throwaway key: the home's daemon may be running under the home's peer id.
  const node = await createDiscoveryNode({ key: generateNodeKey(), logger, listen: ['/ip4/127.0.0.1/tcp/0'], bootstrap: useDht ? config.discovery.bootstrap : [], allow: config.discovery.allow });
  const display = process.stderr.isTTY && !values.json ? new ProgressBar() : undefined;
  const survive = survivePeerStreamErrors(logger);
  try {
    if (useDht) await node.connectBootstrap();
    const found = useDht ? await waitForHolders(node.libp2p, cid, peers.length > 0) : [];
    const result = await fetchContent({
      libp2p: node.libp2p,
      store: new ContentStore(home.dir),
      cid,
      out: values.out,
      logger,
      peers: [...peers, ...found],
      findProviders: useDht,
      onProgress: (progress) => (display ? display.update(progress) : values.json ? undefined : console.log(JSON.stringify({ event: 'progress', ...progress }))),
    });
    display?.finish();
    const summary = { event: 'done', cid: result.cid, size: result.size, path: result.path, sha256: await sha256OfFile(result.path), fetchedBytes: result.fetchedBytes, reusedBytes: result.reusedBytes, leaves: result.leaves, ms: Math.round(result.ms), peers: result.peers, banned: result.banned, memory: memory.stop() };
    if (values.json || !display) console.log(JSON.stringify(summary));
    else console.log(`${result.path}: ${result.size} bytes from ${result.peers.length} peer(s) in ${(result.ms / 1000).toFixed(1)} s${result.reusedBytes ? ` (${result.reusedBytes} bytes kept from an earlier attempt)` : ''}${result.banned.length ? `; banned for bad blocks: ${result.banned.join(', ')}` : ''}`);
  } catch (error) {
    display?.finish();
    if (error instanceof NoProvidersError || error instanceof UnsupportedContentError) throw new CliError(error.message);
    throw error;
  } finally {
    memory.stop();
    await node.stop();
    survive.stop();
  }
}

/**
 * js-libp2p 3 can throw a stream error outside any promise when a peer dies while its connection is being
 * pinged (a reset written to a closing socket). A holder dying is something a fetch must survive: that error is
 * logged, not fatal, while the fetch runs. Any other uncaught error still ends the command.
 */
function survivePeerStreamErrors(logger: ReturnType<typeof createLogger>): { stop: () => void } {
  const handler = (error: Error): void => {
    if (isPeerStreamError(error)) return void logger.warn({ err: error.message }, 'a dying peer connection threw; ignored');
    console.error(`infernet content: ${error?.stack ?? String(error)}`);
    process.exit(1);
  };
  process.on('uncaughtException', handler);
  return { stop: () => void process.off('uncaughtException', handler) };
}

function parsePeer(text: string): Multiaddr {
  try {
    const address = multiaddr(text);
    if (!address.getComponents().some((component) => component.name === 'p2p')) throw new Error('no /p2p/ part');
    return address;
  } catch (error) {
    throw new CliError(`--peer must be a multiaddr ending in /p2p/<peer id>, got "${text}": ${(error as Error).message}`);
  }
}

/** Asks the DHT until it names a holder (the routing table fills a moment after joining), or gives up. */
async function waitForHolders(libp2p: Libp2p, cid: CID, haveOthers: boolean): Promise<PeerId[]> {
  const deadline = Date.now() + (haveOthers ? 2_000 : FIND_HOLDERS_WAIT_MS);
  for (let attempt = 0; Date.now() < deadline; attempt++) {
    const found: PeerId[] = [];
    try {
      for await (const provider of libp2p.contentRouting.findProviders(cid, { signal: AbortSignal.timeout(Math.max(1, Math.min(5_000, deadline - Date.now()))) })) {
        if (provider.id.equals(libp2p.peerId)) continue;
        if (provider.multiaddrs.length) await libp2p.peerStore.merge(provider.id, { multiaddrs: provider.multiaddrs }).catch(() => undefined);
        found.push(provider.id);
      }
    } catch {
      // An empty routing table or a timeout: ask again shortly.
    }
    if (found.length) return found;
    await new Promise((resolve) => setTimeout(resolve, Math.min(1_000, 200 * (attempt + 1))));
  }
  return [];
}

/** The process's peak RSS and heap while a fetch runs, sampled often enough to catch a growing buffer. */
class MemoryPeak {
  private rss = 0;
  private heapUsed = 0;
  private readonly timer = setInterval(() => this.sample(), 100);

  constructor() {
    this.timer.unref();
    this.sample();
  }

  stop(): { peakRssBytes: number; peakHeapUsedBytes: number } {
    clearInterval(this.timer);
    this.sample();
    return { peakRssBytes: this.rss, peakHeapUsedBytes: this.heapUsed };
  }

  private sample(): void {
    const usage = process.memoryUsage();
    this.rss = Math.max(this.rss, usage.rss);
    this.heapUsed = Math.max(this.heapUsed, usage.heapUsed);
  }
}

/** A one-line bar on stderr: percentage, bytes, rate, peers. */
class ProgressBar {
  private last = '';

  update(progress: FetchProgress): void {
    const width = 30;
    const fraction = progress.totalBytes ? progress.bytes / progress.totalBytes : 1;
    const filled = Math.round(fraction * width);
    const line = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${(fraction * 100).toFixed(1).padStart(5)}%  ${mib(progress.bytes)}/${mib(progress.totalBytes)} MiB  ${mib(progress.bytesPerSecond)} MiB/s  ${progress.peers} peer(s)`;
    if (line === this.last) return;
    this.last = line;
    process.stderr.write(`\r${line}`);
  }

  finish(): void {
    if (this.last) process.stderr.write('\n');
    this.last = '';
  }
}

function mib(bytes: number): string {
  return (bytes / 1024 / 1024).toFixed(1);
}
