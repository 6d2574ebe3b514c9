// Test-only: the recorded outputs in ./fixtures, read from the source tree because tsc does not copy them to dist.
import { readFileSync } from 'node:fs';
import { dirname, join, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const compiledDir = dirname(fileURLToPath(import.meta.url));
const sourceDir = compiledDir.replace(`${sep}dist${sep}src${sep}`, `${sep}src${sep}`);

export const FIXTURES_DIR = join(sourceDir, 'fixtures');

export function readFixture(name: string): string {
  return readFileSync(join(FIXTURES_DIR, name), 'utf8');
}
