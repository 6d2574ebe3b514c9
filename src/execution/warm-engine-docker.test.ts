import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sharedModelPath } from '../models/shared-test-models.js';
import { SamplingParams } from '../protocol/index.js';
import { DEFAULT_CONTAINER_LIMITS } from './container-engine.js';
import { EngineCrashedError } from './engine-errors.js';
import { containerEngineLauncher } from './engine-process.js';
import { CONTAINER_LABELS } from './execution-templates.js';
import { useDockerFixture, type DockerFixture } from './test-fixture.js';
import { WarmEngine, type WarmEngineEvent } from './warm-engine.js';

const stories = sharedModelPath('stories260K.gguf');
const sampling = (overrides: Partial<SamplingParams> = {}) => SamplingParams.parse({ maxTokens: 48, ...overrides });
const dockerFixture = useDockerFixture();

describe('WarmEngine in a sandboxed container on a real Docker engine', () => {
  let fixture: DockerFixture;
  let engine: WarmEngine;
  const events: WarmEngineEvent[] = [];

  before(async () => {
    fixture = await dockerFixture();
    const limits = { ...DEFAULT_CONTAINER_LIMITS, memoryBytes: 512 * 2 ** 20, cpus: 1 };
    engine = new WarmEngine({ launch: containerEngineLauncher({ docker: fixture.docker, image: fixture.image, nodeId: fixture.nodeId, limits }), threads: 1, contextSize: 512, slots: 2, onEvent: (event) => events.push(event) });
  });
  after(() => engine?.close());

  it('serves every job of a model from one container that loaded it once', async () => {
    const first = await engine.generate({ modelPath: stories, input: { prompt: 'Once upon a time' }, sampling: sampling() });
    const second = await engine.generate({ modelPath: stories, input: { prompt: 'Once upon a time' }, sampling: sampling() });
    assert.match(first.text, /there was a little girl named Lily/);
    assert.deepEqual(second.tokenIds, first.tokenIds);
    assert.equal(engine.status()[0]?.loads, 1);
    const containers = await fixture.containers();
    assert.equal(containers.length, 1);
    assert.equal(containers[0]?.Labels[CONTAINER_LABELS.role], 'engine');
    assert.equal(containers[0]?.State, 'running');
  });

  it('restarts a container killed mid-job: the job fails with EngineCrashedError and the next job succeeds', async () => {
    const [container] = await fixture.containers();
    let killed = false;
    const crashed = engine.generate({
      modelPath: stories,
      input: { prompt: 'Once upon a time' },
      sampling: sampling({ maxTokens: 400 }),
      onText: () => {
        if (!killed) void fixture.docker.getContainer(container!.Id).kill();
        killed = true;
      },
    });
    await assert.rejects(crashed, EngineCrashedError);
    const next = await engine.generate({ modelPath: stories, input: { prompt: 'Once upon a time' }, sampling: sampling() });
    assert.match(next.text, /there was a little girl named Lily/);
    const [status] = engine.status();
    assert.equal(status?.restarts, 1);
    assert.equal(status?.loads, 2);
    assert.ok(status?.lastError);
    const containers = await fixture.containers();
    assert.equal(containers.length, 1);
    assert.notEqual(containers[0]?.Id, container?.Id);
  });
});
