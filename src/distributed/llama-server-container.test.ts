import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import Docker from 'dockerode';
import { buildRuntimeImage, CONTAINER_LABELS, DEFAULT_CONTAINER_LIMITS } from '../execution/index.js';
import { sharedModelPath } from '../models/shared-test-models.js';
import { SamplingParams } from '../protocol/index.js';
import { llamaServerContainerLauncher } from './llama-server-container.js';
import { LlamaServerEngine } from './llama-server-engine.js';
import { locateLlamaRpcBinaries } from './llama-rpc-binaries.js';

const modelPath = sharedModelPath('stories260K.gguf');
const nodeId = `llama-server-container-test-${process.pid}`;
const network = `infernet-llama-test-${process.pid}`;
// The end token (2 in this vocabulary) banned, so every job decodes all its tokens.
const sampling = SamplingParams.parse({ maxTokens: 48, logitBias: [[2, -100]] });
const job = (engine: LlamaServerEngine, prompt: string) => engine.generate({ modelPath, input: { prompt }, sampling });

describe('the llama-server engine in the Docker sandbox', () => {
  const docker = new Docker();
  let sandboxed: LlamaServerEngine;
  let unsandboxed: LlamaServerEngine;
  const containersOfThisTest = async () => docker.listContainers({ filters: { label: [`${CONTAINER_LABELS.node}=${nodeId}`] } });

  before(async () => {
    const launch = llamaServerContainerLauncher({ docker, image: await buildRuntimeImage(), binDir: locateLlamaRpcBinaries().binDir, nodeId, limits: { ...DEFAULT_CONTAINER_LIMITS, cpus: 2, memoryBytes: 512 * 2 ** 20 }, network });
    sandboxed = new LlamaServerEngine({ threads: 1, batchThreads: 2, contextSize: 256, slots: 2, launch, idSuffix: '+docker' });
    unsandboxed = new LlamaServerEngine({ threads: 1, batchThreads: 2, contextSize: 256, slots: 2 });
  });
  after(async () => {
    await sandboxed?.close();
    await unsandboxed?.close();
    await docker.getNetwork(network).remove().catch(() => undefined);
  });

  it('serves jobs from a container on an internal network, with the output of the same build run unsandboxed', async () => {
    const prompts = ['Once upon a time', 'The little dog'];
    const inside = await Promise.all(prompts.map((prompt) => job(sandboxed, prompt)));
    const outside = await Promise.all(prompts.map((prompt) => job(unsandboxed, prompt)));
    for (const [index, result] of inside.entries()) {
      assert.equal(result.tokenIds.length, sampling.maxTokens);
      assert.deepEqual(result.tokenIds, outside[index]!.tokenIds);
    }
    assert.match(sandboxed.id, /llama-server@\w+\+docker$/);

    const [container] = await containersOfThisTest();
    assert.ok(container, 'one container serves the model');
    const info = await docker.getContainer(container.Id).inspect();
    assert.equal(info.Config.User, '10001:10001');
    assert.equal(info.HostConfig.ReadonlyRootfs, true);
    assert.equal(info.HostConfig.NetworkMode, network);
    assert.ok(info.Mounts.every((mount) => !mount.RW), 'every mount is read-only');
    const networkInfo = await docker.getNetwork(network).inspect();
    assert.equal(networkInfo.Internal, true, 'the network has no route out');
  });

  it('starts a new container at the next job when the last one was killed', async () => {
    const [before] = await containersOfThisTest();
    await docker.getContainer(before!.Id).kill();
    const result = await job(sandboxed, 'She saw a bird');
    assert.equal(result.tokenIds.length, sampling.maxTokens);
    const now = await containersOfThisTest();
    assert.equal(now.length, 1);
    assert.notEqual(now[0]!.Id, before!.Id);
    const [status] = sandboxed.status();
    assert.deepEqual([status?.state, status?.loads, status?.restarts, status?.activeJobs], ['ready', 2, 1, 0]);
    assert.match(status?.lastError?.message ?? '', /llama-server ended/);
  });

  it('leaves no container, and not its network, once closed', async () => {
    await sandboxed.close();
    assert.deepEqual(await containersOfThisTest(), []);
    assert.deepEqual((await docker.listNetworks({ filters: { name: [network] } })).map((found) => found.Name), []);
  });
});
