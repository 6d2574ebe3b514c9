// docs/protocol.md as a whole: the job protocol, then discovery, then verification and reputation. Each part is
// rendered from its schemas.
import { renderDiscoveryDoc } from '../discovery/discovery-doc.js';
import { renderProtocolDoc } from '../protocol/index.js';
import { renderReputationDoc } from '../reputation/reputation-doc.js';

export const PROTOCOL_DOC_URL = new URL('../../../docs/protocol.md', import.meta.url);

export function renderProtocolDocument(): string {
  return renderProtocolDoc() + renderDiscoveryDoc() + renderReputationDoc();
}
