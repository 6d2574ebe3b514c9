// Finds InfiniBand and RoCE ports in sysfs, where the kernel lists every RDMA adapter whether or not the
// userspace tools are installed; `ibstat` is asked only when sysfs shows none (/sys not mounted, say).
import type { CommandRunner } from './command-runner.js';
import { HardwareOutputError } from './errors.js';
import type { InfinibandPort } from './hardware-profile.js';
import { parseIbstat } from './parse-ibstat.js';
import {
  INFINIBAND_PORT_ATTRIBUTES,
  INFINIBAND_SYSFS_ROOT,
  infinibandPortFromSysfs,
  type InfinibandSysfsPort,
} from './parse-infiniband-sysfs.js';
import { runTool, type Warn } from './run-tool.js';
import type { ListDirectory, ReadTextFile } from './system-files.js';

export interface DetectInfinibandParameters {
  run: CommandRunner;
  readFile: ReadTextFile;
  listDir: ListDirectory;
  warn: Warn;
}

export async function detectInfiniband(parameters: DetectInfinibandParameters): Promise<InfinibandPort[]> {
  const fromSysfs = await readSysfsPorts(parameters);
  if (fromSysfs.length > 0) return fromSysfs;
  const { run, warn } = parameters;
  const report = await runTool(run, 'ibstat', [], parseIbstat, warn, { parseFailedOutput: true });
  if (report?.failure) warn(`ibstat stopped early: ${report.failure}`);
  return report?.ports ?? [];
}

async function readSysfsPorts({ readFile, listDir, warn }: DetectInfinibandParameters): Promise<InfinibandPort[]> {
  const ports: InfinibandPort[] = [];
  for (const device of await listDir(INFINIBAND_SYSFS_ROOT)) {
    for (const port of await listDir(`${INFINIBAND_SYSFS_ROOT}/${device}/ports`)) {
      const attributes = await readPortAttributes(readFile, `${INFINIBAND_SYSFS_ROOT}/${device}/ports/${port}`);
      try {
        ports.push(infinibandPortFromSysfs({ device, port: Number(port), attributes }));
      } catch (error) {
        if (!(error instanceof HardwareOutputError)) throw error;
        warn(error.message);
      }
    }
  }
  return ports;
}

async function readPortAttributes(readFile: ReadTextFile, dir: string): Promise<InfinibandSysfsPort['attributes']> {
  const entries = await Promise.all(
    INFINIBAND_PORT_ATTRIBUTES.map(async (name) => [name, (await readFile(`${dir}/${name}`))?.trim()] as const),
  );
  return Object.fromEntries(entries.filter(([, value]) => value !== undefined));
}
