// NAT traversal's protocol identifiers and defaults, named once so every node agrees on them.

/** The job protocol's frames over a libp2p stream: the same frames as over the WebSocket, length-prefixed. */
export const JOB_STREAM_PROTOCOL = '/infernet/job/1.0.0';

/** A job endpoint reached over libp2p (relayed or hole-punched) instead of a WebSocket URL: libp2p://<peer id>. */
export const LIBP2P_ENDPOINT_PREFIX = 'libp2p://';

/** After a relayed dial, how long to wait for DCUtR to bring a direct connection before using the relayed one. */
export const DIRECT_UPGRADE_WAIT_MS = 1_500;

/** How long ICE over the relay may take to open a WebRTC (UDP) connection before the job stays on the relay. */
export const WEBRTC_UPGRADE_TIMEOUT_MS = 10_000;

/** After a failed WebRTC upgrade, how long job sessions to that peer stay on the relay without trying again. */
export const WEBRTC_RETRY_AFTER_MS = 60_000;

/** How many inbound job streams one node serves at once (each is a whole session, like a WebSocket). */
export const MAX_JOB_STREAMS = 256;

/**
 * How many addresses one dial to a peer tries: those a provider record names (the schema allows 32) and those
 * libp2p's peer store gathered for it. A record naming many addresses (another host's ports, or ports that never
 * answer) then costs at most this many connection attempts per dial (threat model, attack 13).
 */
export const MAX_DIALLED_ADDRESSES_PER_PEER = 8;
