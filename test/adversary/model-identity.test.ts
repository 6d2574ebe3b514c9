// Attack 11 (docs/threat-model.md): a provider serves another file under a model's name. A client that names the
// model's sha256 must get that very file: the aggregator matches only providers whose offer carries the hash, and a
// provider whose file has another hash refuses the job. Real files on disk, hashed by the real catalog.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { servesModel } from '../../src/discovery/index.js';
import { ModelCatalog } from '../../src/models/model-catalog.js';
import { rankProviders } from '../../src/aggregator/provider-selection.js';

describe('model identity by content hash (attack 11)', () => {
  let dir: string;
  let honest: ModelCatalog;
  let impostor: ModelCatalog;
  const honestBytes = Buffer.from('GGUF the real weights');
  const honestSha = createHash('sha256').update(honestBytes).digest('hex');

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'infernet-model-identity-'));
    await mkdir(join(dir, 'honest'));
    await mkdir(join(dir, 'impostor'));
    await writeFile(join(dir, 'honest', 'tiny.gguf'), honestBytes);
    // Same file name, so the same network name, different weights (a smaller, cheaper model passed off as this one).
    await writeFile(join(dir, 'impostor', 'tiny.gguf'), Buffer.from('GGUF some cheaper weights'));
    honest = await ModelCatalog.fromPaths([join(dir, 'honest', 'tiny.gguf')]);
    impostor = await ModelCatalog.fromPaths([join(dir, 'impostor', 'tiny.gguf')]);
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("offers each model with its file's sha256", () => {
    assert.deepEqual(honest.offers(), [{ name: 'tiny', sizeBytes: honestBytes.length, sha256: honestSha }]);
  });

  it('matches a job naming a hash only to the provider whose file has it', () => {
    const ref = { name: 'tiny', sha256: honestSha };
    const candidates = [
      { id: 'impostor', activeJobs: 0, capabilities: { models: impostor.offers(), slots: 8 } },
      { id: 'hashless', activeJobs: 0, capabilities: { models: [{ name: 'tiny' }], slots: 8 } },
      { id: 'honest', activeJobs: 0, capabilities: { models: honest.offers(), slots: 1 } },
    ];
    assert.deepEqual(rankProviders(candidates, { model: ref }).map((candidate) => candidate.id), ['honest']);
    // By name only, every provider of the name still qualifies: the hash is what the client asks for.
    assert.equal(rankProviders(candidates, { model: { name: 'tiny' } }).length, 3);
  });

  it('does not match a discovered record whose offer has another hash or none', () => {
    assert.equal(servesModel({ models: impostor.offers() }, 'tiny', honestSha), false);
    assert.equal(servesModel({ models: [{ name: 'tiny' }] }, 'tiny', honestSha), false);
    assert.equal(servesModel({ models: honest.offers() }, 'tiny', honestSha), true);
  });

  it('has the provider refuse a job whose model hash differs from its file (even when the path matches)', () => {
    const impostorPath = impostor.paths[0]!;
    assert.equal(impostor.resolve({ name: 'tiny', sha256: honestSha }), undefined);
    assert.equal(impostor.resolve({ name: 'tiny', path: impostorPath, sha256: honestSha }), undefined);
    assert.equal(honest.resolve({ name: 'tiny', sha256: honestSha })?.path, honest.paths[0]);
    assert.equal(impostor.resolve({ name: 'tiny' })?.path, impostorPath);
  });
});
