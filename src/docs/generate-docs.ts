// `npm run docs:protocol`: writes docs/protocol.md from the schemas and docs/job-lifecycle.md from the job state machine.
import { writeFileSync } from 'node:fs';
import { JOB_LIFECYCLE_DOC_URL, PROTOCOL_DOC_URL, renderJobLifecycleDocument, renderProtocolDocument } from './render-docs.js';

for (const [url, render] of [[PROTOCOL_DOC_URL, renderProtocolDocument], [JOB_LIFECYCLE_DOC_URL, renderJobLifecycleDocument]] as const) {
  writeFileSync(url, render());
  console.log(`wrote ${url.pathname}`);
}
