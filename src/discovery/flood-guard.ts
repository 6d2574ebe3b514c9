// Bounds what one peer can make us process: more than maxMessages in one interval and everything it sends is
// ignored for banMs. Counted per originating peer; the clock is handed in so tests need no waiting.
import { DEFAULT_FLOOD_LIMITS } from './constants.js';

export interface FloodLimits {
  maxMessages: number;
  intervalMs: number;
  banMs: number;
}

/** accept: process it; banned: just went over the limit (log it once); ignored: still serving a ban. */
export type FloodVerdict = 'accept' | 'banned' | 'ignored';

interface PeerWindow {
  startedAt: number;
  count: number;
  bannedUntil: number;
}

/** Peers tracked at most; beyond it idle entries are dropped first so a swarm of ids cannot grow memory. */
const MAX_TRACKED_PEERS = 10_000;

export class FloodGuard {
  private readonly windows = new Map<string, PeerWindow>();

  constructor(
    readonly limits: FloodLimits = DEFAULT_FLOOD_LIMITS,
    private readonly now: () => number = Date.now,
  ) {}

  admit(peer: string): FloodVerdict {
    const now = this.now();
    let window = this.windows.get(peer);
    if (window && window.bannedUntil > now) return 'ignored';
    if (!window || now - window.startedAt >= this.limits.intervalMs) {
      if (!window && this.windows.size >= MAX_TRACKED_PEERS) this.prune(now);
      window = { startedAt: now, count: 0, bannedUntil: 0 };
      this.windows.set(peer, window);
    }
    window.count += 1;
    if (window.count > this.limits.maxMessages) {
      window.bannedUntil = now + this.limits.banMs;
      return 'banned';
    }
    return 'accept';
  }

  isBanned(peer: string): boolean {
    return (this.windows.get(peer)?.bannedUntil ?? 0) > this.now();
  }

  private prune(now: number): void {
    for (const [peer, window] of this.windows) {
      if (window.bannedUntil <= now && now - window.startedAt >= this.limits.intervalMs) this.windows.delete(peer);
    }
    // Everyone active and the table still full: forget the oldest windows rather than grow.
    for (const peer of this.windows.keys()) {
      if (this.windows.size < MAX_TRACKED_PEERS) break;
      this.windows.delete(peer);
    }
  }
}
