// Content addressing: files named by the CID IPFS computes for them (CIDv1, raw leaves, 256 KiB chunks,
// balanced DAG), held in a node's store or referenced in place, exchanged over our own libp2p protocol and
// fetched from many holders at once, every block verified before it is written.
export * from './constants.js';
export * from './errors.js';
export { blockMatches, cidOfBytes, decodeFileNode, encodeFileNode, FileDagBuilder, type DagLink, type DecodedFileNode, type FileDagBuilderOptions } from './file-dag.js';
export { ContentManifest, ContentStore, parseCid, sha256OfFile, type AddContentOptions } from './content-store.js';
export { fetchContent, type FetchContentOptions, type FetchContentResult, type FetchPeerReport, type FetchProgress } from './fetch-content.js';
export { serveContent, stopServingContent, type ServeContentOptions } from './serve-content.js';
export { ContentService, type ContentServiceOptions } from './content-service.js';
export { PeerGoneError } from './peer-channel.js';
