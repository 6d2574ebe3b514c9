// The `infernet` command needs Node 22. Started by an older Node (Debian's 20, say, through the shebang or
// `node bin/infernet.js`) it runs on the project's own Node 22 from node_modules, or refuses at once with one line
// that says what to do, rather than dying later with "Promise.withResolvers is not a function".
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { INFERNET_BIN } from '../support/cli.js';

/** The machine's own Node (outside node_modules) when it is older than 22: Debian 12's is 20. */
function olderSystemNode(): string | undefined {
  for (const candidate of ['/usr/bin/node', '/usr/local/bin/node']) {
    try {
      const version = execFileSync(candidate, ['--version'], { encoding: 'utf8' }).trim();
      if (Number(version.slice(1).split('.')[0]) < 22) return candidate;
    } catch {
      // not there
    }
  }
  return undefined;
}

describe('the infernet command on an older Node', () => {
  const oldNode = olderSystemNode();

  it('hands itself over to the project Node 22 and runs', { skip: oldNode ? false : 'this machine has no Node older than 22' }, () => {
    // Every Node process started with this preload names its version: the older one, then Node 22 running the command.
    const dir = mkdtempSync(join(tmpdir(), 'infernet-node-version-'));
    const preload = join(dir, 'say-version.cjs');
    writeFileSync(preload, "process.stderr.write('running on node ' + process.version + '\\n');\n");
    try {
      const result = spawnSync(oldNode!, [INFERNET_BIN, 'plan', '--model', 'llama-3-70b', '--gpus', '8x80GB', '--json'], { encoding: 'utf8', timeout: 60_000, env: { ...process.env, NODE_OPTIONS: `--require ${preload}` } });
      assert.equal(result.status, 0, result.stderr);
      assert.ok(JSON.parse(result.stdout), 'a JSON plan');
      assert.match(result.stderr, /running on node v(1[0-9]|2[01])\./);
      assert.match(result.stderr, /running on node v22\./);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    const help = spawnSync(oldNode!, [INFERNET_BIN, '--help'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /infernet submit --home DIR/);
  });

  it('without the project Node, refuses at once with one line that says what to do', { skip: oldNode ? false : 'this machine has no Node older than 22' }, () => {
    const bare = mkdtempSync(join(tmpdir(), 'infernet-bare-'));
    try {
      mkdirSync(join(bare, 'bin'));
      copyFileSync(INFERNET_BIN, join(bare, 'bin', 'infernet.js'));
      const result = spawnSync(oldNode!, [join(bare, 'bin', 'infernet.js'), 'status'], { encoding: 'utf8', timeout: 30_000 });
      assert.equal(result.status, 1);
      assert.equal(result.stdout, '');
      const lines = result.stderr.trim().split('\n');
      assert.equal(lines.length, 1, result.stderr);
      assert.match(lines[0]!, /needs Node\.js 22 or newer, this is v\d+.*npm ci/);
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });
});
