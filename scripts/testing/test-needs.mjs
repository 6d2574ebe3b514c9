// Which heavy set-up parts the given compiled test files need: follows each file's relative imports through the
// test side of the tree (test files, test/ and testing/ folders, fixtures) and looks for the calls that start a
// part. Prints a comma-separated list for `scripts/setup.sh --needs`. Usage: node test-needs.mjs FILE...
import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

/** A part is needed when a reached test-side file calls one of these. */
const MARKERS = {
  nat: /\bip netns\b|\bnetworkNamespace|\bNetNamespace|setupNat|nat-lab/i,
  relay: /\bstartTestRelay\b/,
  lightning: /\bstartRegtestNetwork\b/,
  'llama-rpc': /\b(locateLlamaRpcBinaries|llamaRpcBinDir)\b|ggml-rpc-server|llama-server/,
  desktop: /apps\/desktop|desktop-chromium|'apps', 'desktop'/,
  mobile: /apps\/mobile|'apps', 'mobile'/,
};

const isTestSide = (file) => /\.test\.js$/.test(file) || /\/(test|testing)\//.test(file) || /fixture/.test(file);

function needsOf(files) {
  const needs = new Set();
  const seen = new Set();
  const queue = files.map((file) => resolve(file));
  while (queue.length > 0) {
    const file = queue.pop();
    if (seen.has(file) || !existsSync(file)) continue;
    seen.add(file);
    const text = readFileSync(file, 'utf8');
    for (const [part, marker] of Object.entries(MARKERS)) if (marker.test(text)) needs.add(part);
    for (const match of text.matchAll(/(?:from|import)\s*\(?\s*['"](\.{1,2}\/[^'"]+\.js)['"]/g)) {
      const target = resolve(dirname(file), match[1]);
      if (isTestSide(target)) queue.push(target);
    }
  }
  return needs;
}

const files = process.argv.slice(2);
const order = Object.keys(MARKERS);
console.log(order.filter((part) => needsOf(files).has(part)).join(','));
