// Small helpers for the child processes the node and its tests run (PocketBase, chains, relays, engines).
import type { ChildProcess } from 'node:child_process';

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
export async function stopChildProcess(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

export { currentProcessIdentity, isProcessRunning, isPidAlive, type ProcessIdentity } from './process-identity.js';
export { ephemeralPortRange, FETCH_BLOCKED_PORTS, freeLoopbackPort, freeLoopbackPorts, portsOutside, type PortRange } from './free-loopback-ports.js';
