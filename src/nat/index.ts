// NAT traversal: which job endpoint a provider behind NAT announces, the job protocol over libp2p streams
// (relayed or hole-punched connections), the node's reachability, and a relay's per-peer limits.
export { DIRECT_UPGRADE_WAIT_MS, WEBRTC_UPGRADE_TIMEOUT_MS, JOB_STREAM_PROTOCOL, LIBP2P_ENDPOINT_PREFIX, MAX_JOB_STREAMS } from './constants.js';
export { chooseJobEndpoint, type ChooseJobEndpointParameters, type JobEndpointChoice, type ReachabilityMode } from './job-endpoint.js';
export { connectionPathOf, isRelayed, remoteAddressOf, type ConnectionPathKind } from './connection-path.js';
export { dialJobSession, upgradeStatsOf, type UpgradeStats, JobStreamLink, libp2pEndpointOf, openStreamToPeer, peerIdOfEndpoint, serveJobStreams, type JobStreamOptions } from './job-streams.js';
export { connectionTo, openConnectionTo, pingPeer, proveWebRtcConnections, streamTo, WEBRTC_PROOF_TIMEOUT_MS } from './peer-connections.js';
export {
  classifyReachability,
  isPrivateIp,
  publicAddressesOf,
  ReachabilityTracker,
  relaysOf,
  type NatStatus,
  type Reachability,
  type ReachabilityInput,
  type RelayInUse,
} from './reachability.js';
export { RelayPolicy, type RelayLimits, type RelayRefusalReason, type RelayVerdict } from './relay-policy.js';
export { bindingResponse, DEFAULT_STUN_PORT, parseBindingRequest, parseBindingResponse, startStunServer, type StunServer } from './stun-server.js';
export { FrameTooLargeError, StreamFrameSocket } from './stream-frame-socket.js';
