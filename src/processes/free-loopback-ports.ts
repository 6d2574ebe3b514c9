// Ports for the processes a node or a test starts and tells where to listen (PocketBase, engines, daemons).
//
// A port is only "free" until someone binds it. The kernel hands out ports from its ephemeral range to every
// bind(0) and every outgoing connection, so a port taken from that range and released again can be handed to
// another socket (the daemon's own connection to its PocketBase, say) before the process meant for it binds:
// that process then fails with EADDRINUSE. Ports are therefore chosen outside the ephemeral range, where the kernel
// never hands one out on its own; only a process naming the port itself can take it first.
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';

const LOWEST_UNPRIVILEGED_PORT = 1024;
const HIGHEST_PORT = 65_535;
/** Random ports tried outside the ephemeral range before falling back to one the kernel picks. */
const TRIES_OUTSIDE_EPHEMERAL_RANGE = 64;
const LINUX_EPHEMERAL_RANGE_FILE = '/proc/sys/net/ipv4/ip_local_port_range';

/**
 * The unprivileged ports the Fetch standard calls bad ports: Node's fetch (undici) and browsers refuse to connect to
 * them, so a server there cannot be reached by the node's own HTTP clients (a CI run's PocketBase on 6668 did not).
 */
export const FETCH_BLOCKED_PORTS: ReadonlySet<number> = new Set([1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665, 6666, 6667, 6668, 6669, 6679, 6697, 10080]);

export interface PortRange {
  low: number;
  high: number;
}

/** The kernel's ephemeral port range (Linux), or undefined where it cannot be read. */
export function ephemeralPortRange(file = LINUX_EPHEMERAL_RANGE_FILE): PortRange | undefined {
  try {
    const [low, high] = readFileSync(file, 'utf8').trim().split(/\s+/).map(Number);
    return low !== undefined && high !== undefined && Number.isInteger(low) && Number.isInteger(high) && low <= high ? { low, high } : undefined;
  } catch {
    return undefined;
  }
}

/** The unprivileged ports outside `ephemeral`; none where the ephemeral range is unknown (the kernel's own pick is then used). */
export function portsOutside(ephemeral: PortRange | undefined): PortRange[] {
  if (!ephemeral) return [];
  const ranges: PortRange[] = [];
  if (ephemeral.low > LOWEST_UNPRIVILEGED_PORT) ranges.push({ low: LOWEST_UNPRIVILEGED_PORT, high: ephemeral.low - 1 });
  if (ephemeral.high < HIGHEST_PORT) ranges.push({ low: ephemeral.high + 1, high: HIGHEST_PORT });
  return ranges;
}

function randomPortIn(ranges: readonly PortRange[]): number {
  const total = ranges.reduce((sum, range) => sum + range.high - range.low + 1, 0);
  let pick = Math.floor(Math.random() * total);
  for (const range of ranges) {
    const size = range.high - range.low + 1;
    if (pick < size) return range.low + pick;
    pick -= size;
  }
  throw new Error('no port in the given ranges');
}

function listen(server: Server, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => resolve(true));
  });
}

/** A listening server on 127.0.0.1, on a port in `outside` where it can; on a kernel-chosen port otherwise. */
async function bindFreePort(outside: readonly PortRange[], avoid: ReadonlySet<number>): Promise<Server> {
  for (let tries = 0; outside.length && tries < TRIES_OUTSIDE_EPHEMERAL_RANGE; tries++) {
    const port = randomPortIn(outside);
    if (avoid.has(port) || FETCH_BLOCKED_PORTS.has(port)) continue;
    const server = createServer();
    if (await listen(server, port)) return server;
  }
  const server = createServer();
  if (!(await listen(server, 0))) throw new Error('cannot listen on 127.0.0.1');
  return server;
}

const close = (server: Server) => new Promise<void>((resolve) => (server.listening ? server.close(() => resolve()) : resolve()));

/** A port free on 127.0.0.1 a moment ago, which the kernel will not hand to another socket on its own. */
export async function freeLoopbackPort(): Promise<number> {
  const [port] = await freeLoopbackPorts(1);
  return port!;
}

/**
 * `count` distinct free ports: each stays bound until all are chosen, so two calls in a row cannot return the same
 * port (they could one at a time, and a process given a port twice fails to bind it).
 */
export async function freeLoopbackPorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const taken = new Set<number>();
    const outside = portsOutside(ephemeralPortRange());
    while (servers.length < count) {
      const server = await bindFreePort(outside, taken);
      servers.push(server);
      taken.add((server.address() as AddressInfo).port);
    }
    return [...taken];
  } finally {
    await Promise.all(servers.map(close));
  }
}
