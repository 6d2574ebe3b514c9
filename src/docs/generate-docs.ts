// `npm run docs:protocol`: writes docs/protocol.md from the schemas.
import { writeFileSync } from 'node:fs';
import { PROTOCOL_DOC_URL, renderProtocolDocument } from './render-docs.js';

writeFileSync(PROTOCOL_DOC_URL, renderProtocolDocument());
console.log(`wrote ${PROTOCOL_DOC_URL.pathname}`);
