// docs/protocol.md as a whole: the job protocol, then discovery. Both parts are rendered from their schemas.
import { renderDiscoveryDoc } from '../discovery/discovery-doc.js';
import { renderProtocolDoc } from '../protocol/index.js';

export const PROTOCOL_DOC_URL = new URL('../../../docs/protocol.md', import.meta.url);

export function renderProtocolDocument(): string {
  return renderProtocolDoc() + renderDiscoveryDoc();
}
