// `npm run docs:protocol`: writes docs/protocol.md from the schemas.
import { writeFileSync } from 'node:fs';
import { renderProtocolDoc } from './protocol-doc.js';

const target = new URL('../../../docs/protocol.md', import.meta.url);
writeFileSync(target, renderProtocolDoc());
console.log(`wrote ${target.pathname}`);
