// The abuse limits of a circuit relay v2 server beyond what libp2p's own reservation store enforces (its total
// reservation count and each circuit's bytes and duration): per-peer rates of reservation requests and of
// circuits opened, so one peer cannot hog the relay by churning. Pure bookkeeping over sliding windows; the
// caller logs each refusal.

export interface RelayLimits {
  /** Reservations the relay holds at once (libp2p refuses beyond it; we refuse and log first). */
  maxReservations: number;
  reservationsPerPeerPerMinute: number;
  circuitsPerPeerPerMinute: number;
  /** Each relayed connection is cut after this long or this many bytes, whichever comes first. */
  circuitDurationS: number;
  circuitBytes: number;
}

export type RelayRefusalReason = 'relay_full' | 'reservation_rate' | 'circuit_rate';

export type RelayVerdict = { allow: true } | { allow: false; reason: RelayRefusalReason; detail: string };

const WINDOW_MS = 60_000;
/** Peers remembered at most; the oldest window is dropped first, so the map cannot grow without bound. */
const MAX_TRACKED_PEERS = 10_000;

export class RelayPolicy {
  private readonly reservationRequests = new Map<string, number[]>();
  private readonly circuitRequests = new Map<string, number[]>();
  refusals = 0;

  constructor(readonly limits: RelayLimits) {}

  /** A peer asks for (or refreshes) a reservation; `held` says whether it already holds one, `total` how many exist. */
  admitReservation(peer: string, held: boolean, total: number, now = Date.now()): RelayVerdict {
    if (!held && total >= this.limits.maxReservations) {
      return this.refuse('relay_full', `the relay holds ${total} reservations, its limit`);
    }
    if (!take(this.reservationRequests, peer, this.limits.reservationsPerPeerPerMinute, now)) {
      return this.refuse('reservation_rate', `more than ${this.limits.reservationsPerPeerPerMinute} reservation requests a minute`);
    }
    return { allow: true };
  }

  /** A peer asks the relay to connect it to another. */
  admitCircuit(source: string, now = Date.now()): RelayVerdict {
    if (!take(this.circuitRequests, source, this.limits.circuitsPerPeerPerMinute, now)) {
      return this.refuse('circuit_rate', `more than ${this.limits.circuitsPerPeerPerMinute} relayed connections a minute`);
    }
    return { allow: true };
  }

  private refuse(reason: RelayRefusalReason, detail: string): RelayVerdict {
    this.refusals++;
    return { allow: false, reason, detail };
  }
}

/** Records one request in the peer's window unless the window is full; false when it is. */
function take(windows: Map<string, number[]>, peer: string, limit: number, now: number): boolean {
  const recent = (windows.get(peer) ?? []).filter((at) => now - at < WINDOW_MS);
  if (recent.length >= limit) {
    windows.set(peer, recent);
    return false;
  }
  recent.push(now);
  windows.delete(peer); // re-inserted last: the map's order is least recently used first
  windows.set(peer, recent);
  if (windows.size > MAX_TRACKED_PEERS) windows.delete(windows.keys().next().value!);
  return true;
}
