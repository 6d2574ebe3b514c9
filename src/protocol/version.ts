// Protocol identity and limits, named once so every component agrees on them.

/** The wire protocol versions this build speaks, newest last. */
export const SUPPORTED_PROTOCOL_VERSIONS = [1] as const;
export const PROTOCOL_VERSION = 1;
export const PROTOCOL_NAME = 'infernet';

/** Nostr event kinds of the signed envelopes (job requests and results sit in NIP-90's DVM ranges). */
export const EVENT_KIND_JOB_SPEC = 5950;
export const EVENT_KIND_JOB_RESULT = 6950;
/** Session authentication, in the shape of NIP-42's client authentication event. */
export const EVENT_KIND_SESSION_AUTH = 22242;

/** Picks the highest version both sides speak, or null when they share none. */
export function negotiateVersion(ours: readonly number[], theirs: readonly number[]): number | null {
  const common = ours.filter((version) => theirs.includes(version));
  return common.length ? Math.max(...common) : null;
}
