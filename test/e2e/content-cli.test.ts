// The `infernet content` commands as a user runs them: add (copied, or referenced in place) prints the CID IPFS
// would compute, ls lists what a home holds, get fetches from a running daemon found in the DHT and prints
// JSON progress lines when its output is not a terminal; bad input is refused with a clear message.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import YAML from 'yaml';
import { CHUNK_SIZE } from '../../src/content/constants.js';
import { sha256OfFile } from '../../src/content/content-store.js';
import { writeDeterministicFile } from '../../src/content/testing.js';
import { runCli, startDaemon, type RunningDaemon } from '../support/cli.js';

describe('infernet content', () => {
  let dir: string;
  let holder: RunningDaemon;
  const home = (name: string) => join(dir, name);
  const json = async (args: string[]) => {
    const result = await runCli(args);
    assert.equal(result.code, 0, result.stderr);
    return JSON.parse(result.stdout);
  };
  const fileBackend = async (name: string) => {
    const path = join(home(name), 'config.yaml');
    const config = YAML.parse(await readFile(path, 'utf8'));
    config.storage = { backend: 'file' };
    config.discovery.allow = ['/ip4/127.0.0.1'];
    await writeFile(path, YAML.stringify(config));
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infernet-content-cli-'));
    await runCli(['init', '--home', home('holder'), '--role', 'aggregator', '--port', '0', '--discovery']);
    await fileBackend('holder');
  });
  after(async () => {
    await holder?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('add --json prints the CID kubo gives "hello\\n" and its size', async () => {
    await writeFile(join(dir, 'hello.txt'), 'hello\n');
    const added = await json(['content', 'add', join(dir, 'hello.txt'), '--home', home('holder'), '--json']);
    assert.equal(added.cid, 'bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am');
    assert.equal(added.size, 6);
    assert.equal(added.inPlace, false);
  });

  it('add --in-place references a multi-chunk file without copying it, and ls lists both', async () => {
    const file = join(dir, 'weights.bin');
    await writeDeterministicFile(file, 5 * CHUNK_SIZE + 17, 4);
    const added = await json(['content', 'add', file, '--in-place', '--home', home('holder'), '--json']);
    assert.match(added.cid, /^bafybei/);
    assert.equal(added.size, 5 * CHUNK_SIZE + 17);
    assert.equal(added.path, file);
    const listed = await json(['content', 'ls', '--home', home('holder'), '--json']);
    assert.deepEqual(listed.map((entry: { cid: string }) => entry.cid).sort(), [added.cid, 'bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am'].sort());
  });

  it('get fetches from the daemon found in the DHT, printing JSON progress lines and a done line', async () => {
    holder = await startDaemon(home('holder'));
    // Alone in the network, the holder keeps its provider records in its own DHT table, which is where the
    // fetcher's lookup ends: no need to wait for them to spread.
    const [bootstrap] = (await json(['status', '--home', home('holder'), '--json'])).multiaddrs as string[];
    await runCli(['init', '--home', home('fetcher'), '--role', 'client', '--bootstrap', bootstrap!]);
    await fileBackend('fetcher');
    const [entry] = (await json(['content', 'ls', '--home', home('holder'), '--json'])).filter((item: { inPlace: boolean }) => item.inPlace);
    const out = join(dir, 'fetched', 'weights.bin');
    const result = await runCli(['content', 'get', entry.cid, '--out', out, '--home', home('fetcher')], { timeoutMs: 120_000 });
    assert.equal(result.code, 0, result.stderr);
    const lines = result.stdout.trim().split('\n').map((line) => JSON.parse(line));
    assert.ok(lines.some((line) => line.event === 'progress' && line.totalBytes === entry.size), result.stdout);
    const done = lines.at(-1);
    assert.equal(done.event, 'done');
    assert.equal(done.cid, entry.cid);
    assert.equal(done.sha256, await sha256OfFile(join(dir, 'weights.bin')));
    assert.equal(await sha256OfFile(out), done.sha256);
    assert.ok(done.memory.peakRssBytes > 0);
    // The fetcher now holds it too.
    assert.ok((await json(['content', 'ls', '--home', home('fetcher'), '--json'])).some((item: { cid: string }) => item.cid === entry.cid));
  });

  it('refuses a malformed content id and a missing file, each with a message that names it', async () => {
    const badCid = await runCli(['content', 'get', 'not-a-cid', '--out', join(dir, 'x'), '--home', home('holder')]);
    assert.equal(badCid.code, 1);
    assert.match(badCid.stderr, /"not-a-cid" is not a content id/);
    const missing = await runCli(['content', 'add', join(dir, 'nope.bin'), '--home', home('holder')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /cannot read .*nope\.bin/);
    const noOut = await runCli(['content', 'get', 'bafkreicysg23kiwv34eg2d7qweipxwosdo2py4ldv42nbauguluen5v6am', '--home', home('holder')]);
    assert.match(noOut.stderr, /needs --out PATH/);
  });
});
