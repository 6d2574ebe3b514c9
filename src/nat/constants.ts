// NAT traversal's protocol identifiers and defaults, named once so every node agrees on them.

/** The job protocol's frames over a libp2p stream: the same frames as over the WebSocket, length-prefixed. */
export const JOB_STREAM_PROTOCOL = '/infernet/job/1.0.0';

/** A job endpoint reached over libp2p (relayed or hole-punched) instead of a WebSocket URL: libp2p://<peer id>. */
export const LIBP2P_ENDPOINT_PREFIX = 'libp2p://';

/** After a relayed dial, how long to wait for DCUtR to bring a direct connection before using the relayed one. */
export const DIRECT_UPGRADE_WAIT_MS = 1_500;

/** How many inbound job streams one node serves at once (each is a whole session, like a WebSocket). */
export const MAX_JOB_STREAMS = 256;
