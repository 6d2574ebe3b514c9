import assert from 'node:assert/strict';
import { tmpdir } from 'node:os';
import { describe, it } from 'node:test';
import { execFileRunner, type CommandRunner } from './command-runner.js';
import { ROCM_SMI_ARGS } from './detect-amd-gpus.js';
import { detectHardware } from './detect-hardware.js';
import { NVIDIA_SMI_QUERY_ARGS, NVIDIA_SMI_TOPO_ARGS, NVIDIA_SMI_XML_ARGS } from './detect-nvidia-gpus.js';
import { HardwareCommandError } from './errors.js';
import { gpuClassOf } from './gpu-class.js';
import { parseInfinibandSysfsListing } from './parse-infiniband-sysfs.js';
import type { ListDirectory, ReadTextFile } from './system-files.js';
import { readFixture } from './test-fixtures.js';

const MiB = 1024 ** 2;

type Recording = { stdout: string } | { exitCode: number; output: string };

/** Answers each command line with its recording; any other tool is not installed. Keeps the lines it was asked. */
function recordedRunner(recordings: Record<string, Recording>): CommandRunner & { asked: string[] } {
  const asked: string[] = [];
  const run: CommandRunner = async (command, args) => {
    const line = [command, ...args].join(' ');
    asked.push(line);
    const recording = recordings[line];
    if (!recording) return { status: 'missing' };
    if ('stdout' in recording) return { status: 'ok', stdout: recording.stdout };
    const failure = { kind: 'exit', code: recording.exitCode } as const;
    return { status: 'failed', error: new HardwareCommandError(command, args, failure, recording.output) };
  };
  return Object.assign(run, { asked });
}

const recorded = (fixture: string): Recording => ({ stdout: readFixture(fixture) });
const exits = (exitCode: number, output: string): Recording => ({ exitCode, output });
const OLD_DRIVER = exits(2, 'Field "compute_cap" is not a valid field to query.\n');

const nvidiaSmi = (args: readonly string[]): string => ['nvidia-smi', ...args].join(' ');
const QUERY = nvidiaSmi(NVIDIA_SMI_QUERY_ARGS);
const XML = nvidiaSmi(NVIDIA_SMI_XML_ARGS);
const TOPO = nvidiaSmi(NVIDIA_SMI_TOPO_ARGS);
const ROCM = ['rocm-smi', ...ROCM_SMI_ARGS].join(' ');

/** A machine with the recorded /proc/cpuinfo and no /sys/class/infiniband. */
const recordedCpuOnly: { readFile: ReadTextFile; listDir: ListDirectory } = {
  readFile: async (path) => (path === '/proc/cpuinfo' ? readFixture('proc-cpuinfo-2vcpu-xeon-vm.txt') : undefined),
  listDir: async () => [],
};

/** A /sys/class/infiniband tree holding the files of a "path:value" listing. */
function sysfsOf(listing: string): { readFile: ReadTextFile; listDir: ListDirectory } {
  const files = new Map<string, string>();
  for (const { device, port, attributes } of parseInfinibandSysfsListing(listing)) {
    for (const [name, value] of Object.entries(attributes)) {
      files.set(`/sys/class/infiniband/${device}/ports/${port}/${name}`, `${value}\n`);
    }
  }
  const childOf = (path: string, file: string): string => file.slice(path.length + 1).split('/')[0] ?? '';
  const listDir: ListDirectory = async (path) => {
    const children = [...files.keys()].filter((file) => file.startsWith(`${path}/`)).map((file) => childOf(path, file));
    return [...new Set(children)].sort();
  };
  return { readFile: async (path) => files.get(path), listDir };
}

const detect = (run: CommandRunner) => detectHardware({ run, ...recordedCpuOnly, diskPath: tmpdir() });

describe('detectHardware with recorded command outputs', () => {
  it('reads one H100 from the nvidia-smi query of an H100 VM', async () => {
    const profile = await detect(recordedRunner({ [QUERY]: recorded('nvidia-smi-query-allfields-1xH100-vm.csv') }));
    assert.deepEqual(profile.gpus, [
      {
        index: 0,
        vendor: 'nvidia',
        name: 'NVIDIA H100 80GB HBM3',
        uuid: 'GPU-00000000-0000-0000-0000-000000000000',
        memoryTotalBytes: 81559 * MiB,
        memoryFreeBytes: 81081 * MiB,
        driverVersion: '590.48.01',
        computeCapability: '9.0',
        pciBusId: '00000000:00:09.0',
      },
    ]);
    assert.equal(gpuClassOf(profile.gpus[0] ?? assert.fail()), 'nvidia-h100-80gb');
    assert.equal(profile.interconnect.nvlink, null);
    assert.deepEqual(profile.warnings, []);
  });

  it('reads the CPU from the recorded /proc/cpuinfo and the free space of the disk path', async () => {
    const profile = await detect(recordedRunner({}));
    assert.deepEqual(profile.cpu, { model: 'Intel(R) Xeon(R) Processor', cores: 2, threads: 2 });
    assert.equal(profile.disk?.path, tmpdir());
    assert.ok((profile.disk?.freeBytes ?? 0) > 0);
  });

  it('falls back to the XML report, with CUDA version and MIG layout, when the query fails', async () => {
    const run = recordedRunner({
      [QUERY]: OLD_DRIVER,
      [XML]: recorded('nvidia-smi-q-x-A100-SXM4-MIG-1of4.xml'),
    });
    const profile = await detect(run);
    assert.equal(profile.cudaVersion, '12.2');
    assert.equal(profile.gpus[0]?.name, 'NVIDIA A100-SXM4-80GB');
    assert.equal(profile.gpus[0]?.memoryTotalBytes, 81920 * MiB);
    assert.equal(profile.gpus[0]?.mig?.instances.length, 4);
    assert.match(profile.warnings.join('\n'), /exited with code 2: Field "compute_cap" is not a valid field/);
  });

  it('places two GPUs on their NUMA node from the topology and finds no NVLink over PCIe', async () => {
    // The XML and the matrix come from two different two-GPU machines; only the wiring between them is checked.
    const run = recordedRunner({
      [QUERY]: OLD_DRIVER,
      [XML]: recorded('nvidia-smi-q-x-2xA5000.xml'),
      [TOPO]: recorded('nvidia-smi-topo-2xRTX5090-pcie.txt'),
    });
    const profile = await detect(run);
    assert.deepEqual(
      profile.gpus.map((gpu) => [gpu.index, gpu.numaNode]),
      [
        [0, 0],
        [1, 0],
      ],
    );
    assert.equal(profile.interconnect.nvlink, null);
  });

  it('yields no NVIDIA GPUs, and says why, when nvidia-smi cannot reach the driver', async () => {
    // 9 is nvidia-smi's exit code for "NVIDIA driver is not loaded".
    const run = recordedRunner({ [QUERY]: exits(9, readFixture('nvidia-smi-no-driver.txt')) });
    const profile = await detect(run);
    assert.deepEqual(profile.gpus, []);
    assert.equal(profile.warnings.length, 1);
    assert.match(profile.warnings[0] ?? '', /^no usable NVIDIA GPU: .*couldn't communicate with the NVIDIA driver/);
    assert.deepEqual(run.asked.filter((line) => line.startsWith('nvidia-smi')), [QUERY]);
  });

  it('counts eight AMD GPUs and their NUMA nodes from rocm-smi, warning that it gave no VRAM size', async () => {
    const profile = await detect(recordedRunner({ [ROCM]: recorded('rocm-smi-showtoponuma-8xAMD.txt') }));
    assert.equal(profile.gpus.length, 8);
    assert.ok(profile.gpus.every((gpu) => gpu.vendor === 'amd'));
    assert.deepEqual(
      profile.gpus.map((gpu) => gpu.numaNode),
      [0, 0, 0, 0, 1, 1, 1, 1],
    );
    assert.match(profile.warnings.join('\n'), /no VRAM size for GPU\[0\], .*GPU\[7\]/);
  });

  it('asks ibstat when sysfs lists no adapters, and counts active RoCE ports as RDMA', async () => {
    const profile = await detect(recordedRunner({ ibstat: recorded('ibstat-8xH100-node-12xCX-RoCE.txt') }));
    assert.equal(profile.interconnect.infiniband.length, 12);
    assert.equal(profile.interconnect.infiniband.filter((port) => port.rateGbps === 400).length, 8);
    assert.equal(profile.interconnect.rdma, true);
  });

  it('keeps the adapters ibstat read before it panicked, and warns about the panic', async () => {
    const run = recordedRunner({ ibstat: exits(255, readFixture('ibstat-A100-node-ibpanic-exit255.txt')) });
    const profile = await detect(run);
    const { infiniband } = profile.interconnect;
    assert.equal(infiniband.length, 8);
    assert.ok(infiniband.every((port) => port.rateGbps === 200 && port.linkLayer === 'InfiniBand'));
    assert.match(profile.warnings.join('\n'), /`ibstat` exited with code 255/);
    assert.match(profile.warnings.join('\n'), /stat of IB device 'mlx5_8' failed/);
  });

  it('reads port rates from /sys/class/infiniband without asking ibstat', async () => {
    const sysfs = sysfsOf(readFixture('sys-class-infiniband-ports-rate-8xH100-node.txt'));
    const run = recordedRunner({});
    const profile = await detectHardware({ run, ...sysfs, diskPath: tmpdir() });
    assert.deepEqual(
      profile.interconnect.infiniband.map((port) => [port.device, port.rateGbps]),
      [
        ['mlx5_0', 400],
        ['mlx5_1', 400],
        ['mlx5_4', 400],
        ['mlx5_5', 400],
        ['mlx5_6', 400],
        ['mlx5_7', 400],
        ['mlx5_8', 400],
        ['mlx5_9', 400],
        ['mlx5_bond_0', 200],
      ],
    );
    // The listing has no state files, so no port is known to be up.
    assert.equal(profile.interconnect.rdma, false);
    assert.equal(run.asked.includes('ibstat'), false);
  });
});

describe('detectHardware on this machine', () => {
  it('finds the CPU, memory and disk, and no GPU where no vendor tool is installed', async () => {
    const profile = await detectHardware({ diskPath: tmpdir() });
    assert.ok(profile.cpu.cores >= 1 && profile.cpu.threads >= profile.cpu.cores);
    assert.ok(profile.cpu.model.length > 0);
    assert.ok(profile.memoryTotalBytes > 0);
    assert.ok((profile.disk?.freeBytes ?? 0) > 0);
    const tools = await Promise.all(['nvidia-smi', 'rocm-smi'].map((tool) => execFileRunner()(tool, ['--help'])));
    if (tools.every((result) => result.status === 'missing')) {
      assert.deepEqual(profile.gpus, []);
      assert.equal(profile.interconnect.nvlink, null);
      assert.deepEqual(profile.warnings, []);
    }
  });
});
