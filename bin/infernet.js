#!/usr/bin/env node
// The installed `infernet` command; the code lives in dist/ (run `npm run build`).
import { main } from '../dist/src/cli/main.js';

// Exit explicitly: native engine handles must not keep a finished command alive. Writes to pipes and files
// are synchronous on Linux, so nothing printed is lost.
process.exit(await main(process.argv.slice(2)));
