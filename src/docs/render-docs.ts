// docs/protocol.md as a whole: the job protocol, then discovery, then verification and reputation. Each part is
// rendered from its schemas. docs/job-lifecycle.md beside it, from the job state machine.
import { renderDiscoveryDoc } from '../discovery/discovery-doc.js';
import { renderJobLifecycleDoc } from '../jobs/job-lifecycle-doc.js';
import { renderProtocolDoc } from '../protocol/index.js';
import { renderReputationDoc } from '../reputation/reputation-doc.js';

export const PROTOCOL_DOC_URL = new URL('../../../docs/protocol.md', import.meta.url);

export function renderProtocolDocument(): string {
  return renderProtocolDoc() + renderDiscoveryDoc() + renderReputationDoc();
}

/** docs/job-lifecycle.md: the job state machine's table. */
export const JOB_LIFECYCLE_DOC_URL = new URL('../../../docs/job-lifecycle.md', import.meta.url);

export function renderJobLifecycleDocument(): string {
  return renderJobLifecycleDoc();
}
