// scripts/install-llama-gpu-build.sh decides from the GPU tools that answer which of node-llama-cpp's builds to
// install. No GPU here: stand-in nvidia-smi and rocm-smi print recorded listings, and a stand-in npm records what it
// was asked to install (the real download is 320 MB). The script runs from a copy in a folder of its own.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { REPO_ROOT } from '../support/cli.js';

const run = promisify(execFile);

describe('scripts/install-llama-gpu-build.sh (stand-in nvidia-smi, rocm-smi and npm)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'install-llama-gpu-build-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A checkout with node-llama-cpp 3.21.1 and `installed` builds; tools on PATH print `listings`. */
  async function runScript(name: string, listings: { nvidiaSmi?: string; rocmSmi?: string }, installed: string[] = []) {
    const checkout = join(dir, name);
    const bin = join(checkout, 'bin');
    await mkdir(join(checkout, 'scripts'), { recursive: true });
    await mkdir(bin);
    await copyFile(join(REPO_ROOT, 'scripts', 'install-llama-gpu-build.sh'), join(checkout, 'scripts', 'install-llama-gpu-build.sh'));
    for (const pkg of ['node-llama-cpp', ...installed.map((build) => `@node-llama-cpp/${build}`)]) {
      await mkdir(join(checkout, 'node_modules', pkg), { recursive: true });
      await writeFile(join(checkout, 'node_modules', pkg, 'package.json'), `{\n  "name": "${pkg}",\n  "version": "3.21.1"\n}\n`);
    }
    const tool = async (file: string, script: string) => {
      await writeFile(join(bin, file), `#!/usr/bin/env bash\n${script}\n`);
      await chmod(join(bin, file), 0o755);
    };
    await tool('npm', `echo "$@" >> "${join(checkout, 'npm-asked')}"`);
    if (listings.nvidiaSmi !== undefined) await tool('nvidia-smi', `[[ "$1" == -L ]] && printf '%s' '${listings.nvidiaSmi}'`);
    if (listings.rocmSmi !== undefined) await tool('rocm-smi', `printf '%s' '${listings.rocmSmi}'`);
    // Only the stand-ins and the basic tools: no real nvidia-smi or npm of this machine.
    const { stderr } = await run('bash', [join(checkout, 'scripts', 'install-llama-gpu-build.sh')], { env: { PATH: `${bin}:/usr/bin:/bin` } });
    const asked = await readFile(join(checkout, 'npm-asked'), 'utf8').catch(() => '');
    return { stderr, asked: asked.trim() };
  }

  it("installs the CUDA build and its CUDA 12 fallback, at node-llama-cpp's version, where nvidia-smi lists a GPU", async () => {
    const { asked } = await runScript('nvidia', { nvidiaSmi: 'GPU 0: NVIDIA H100 80GB HBM3 (UUID: GPU-00000000-0000-0000-0000-000000000000)\n' });
    assert.equal(asked, 'install --no-save --no-audit --no-fund @node-llama-cpp/linux-x64-cuda@3.21.1 @node-llama-cpp/linux-x64-cuda-ext@3.21.1');
  });

  it('installs the Vulkan build where rocm-smi lists an AMD GPU', async () => {
    const { asked } = await runScript('amd', { rocmSmi: 'GPU[0]\t\t: Card Series: \t\tAMD Instinct MI210\n' });
    assert.equal(asked, 'install --no-save --no-audit --no-fund @node-llama-cpp/linux-x64-vulkan@3.21.1');
  });

  it('installs nothing where no GPU answers, nor where nvidia-smi answers without a GPU, nor twice', async () => {
    const none = await runScript('none', {});
    assert.equal(none.asked, '');
    assert.match(none.stderr, /no GPU answers/);
    // nvidia-smi without a loaded driver prints its error to stdout and lists nothing.
    assert.equal((await runScript('no-driver', { nvidiaSmi: 'NVIDIA-SMI has failed because it could not communicate with the NVIDIA driver.\n' })).asked, '');
    const again = await runScript('installed', { nvidiaSmi: 'GPU 0: NVIDIA H100 80GB HBM3\n' }, ['linux-x64-cuda', 'linux-x64-cuda-ext']);
    assert.equal(again.asked, '');
    assert.match(again.stderr, /cuda build 3\.21\.1 is installed/);
  });
});
