// How many connections to a stage port may be unauthenticated at once: in all, and per remote address. Each one
// costs the worker a challenge, an ephemeral key and a signature check before it knows who dialled, so an attacker
// who opens connections and never finishes the handshake is held to a share (threat model, attack 13).
import { TUNNEL_HANDSHAKE_TIMEOUT_MS } from './tunnel-protocol.js';

export interface HandshakeLimits {
  /** Connections whose tunnel handshake has not finished, from everyone together. */
  maxPending: number;
  /** The same, from one remote address: what one attacker can hold without keeping honest heads out. */
  maxPendingPerRemote: number;
  /** From the TCP connection to the end of the tunnel handshake (the WebSocket upgrade included). */
  timeoutMs: number;
}

export const DEFAULT_HANDSHAKE_LIMITS: HandshakeLimits = { maxPending: 64, maxPendingPerRemote: 8, timeoutMs: TUNNEL_HANDSHAKE_TIMEOUT_MS };

export type HandshakeAdmissionResult = { admitted: true; release: () => void } | { admitted: false; reason: string };

export class HandshakeAdmission {
  private pendingCount = 0;
  private readonly pendingByRemote = new Map<string, number>();

  constructor(private readonly limits: Pick<HandshakeLimits, 'maxPending' | 'maxPendingPerRemote'>) {}

  get pending(): number {
    return this.pendingCount;
  }

  /** Counts a new connection from `remote` as pending; its release (safe to call twice) frees the place. */
  admit(remote: string): HandshakeAdmissionResult {
    const fromRemote = this.pendingByRemote.get(remote) ?? 0;
    if (this.pendingCount >= this.limits.maxPending) return { admitted: false, reason: `${this.pendingCount} handshakes pending, the limit` };
    if (fromRemote >= this.limits.maxPendingPerRemote) return { admitted: false, reason: `${fromRemote} handshakes pending from ${remote}, its limit` };
    this.pendingCount++;
    this.pendingByRemote.set(remote, fromRemote + 1);
    let released = false;
    const release = (): void => {
      if (released) return;
      released = true;
      this.pendingCount--;
      const left = (this.pendingByRemote.get(remote) ?? 1) - 1;
      if (left > 0) this.pendingByRemote.set(remote, left);
      else this.pendingByRemote.delete(remote);
    };
    return { admitted: true, release };
  }
}
