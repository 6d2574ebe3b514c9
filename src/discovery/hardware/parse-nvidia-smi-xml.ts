// Reads `nvidia-smi -q -x`: the driver and CUDA versions, and per GPU its name, memory, PCI address and MIG
// layout. Values are looked up at exact paths, because MIG devices nest their own <fb_memory_usage>.
import { definedOnly } from './defined-only.js';
import { HardwareOutputError } from './errors.js';
import type { GpuInfo, MigInfo, MigInstance } from './hardware-profile.js';
import { nvidiaSmiFailureOf, parseInteger, parseMemorySize, presentValue } from './nvidia-smi-values.js';
import { childOf, childrenOf, parseXml, textAt, XmlSyntaxError, type XmlElement } from './xml-tree.js';

export interface ParseNvidiaSmiXmlReturnType {
  driverVersion?: string;
  cudaVersion?: string;
  /** What the driver counts; it can exceed gpus.length when the report was cut short. */
  attachedGpus?: number;
  /** In document order, which is nvidia-smi's index order (not the /dev/nvidiaN minor number). */
  gpus: GpuInfo[];
  failure?: string;
}

const TOOL = 'nvidia-smi -q -x';

export function parseNvidiaSmiXml(text: string): ParseNvidiaSmiXmlReturnType {
  const failure = nvidiaSmiFailureOf(text);
  if (failure && !text.includes('<nvidia_smi_log')) return { gpus: [], failure };
  const log = rootOf(text);
  const driverVersion = presentValue(textAt(log, 'driver_version'));
  const gpus = childrenOf(log, 'gpu').map((gpu, index) => gpuOf(gpu, index, driverVersion));
  const summary = {
    driverVersion,
    cudaVersion: presentValue(textAt(log, 'cuda_version')),
    attachedGpus: parseInteger(textAt(log, 'attached_gpus')),
    failure,
  };
  return { gpus, ...definedOnly(summary) };
}

function rootOf(text: string): XmlElement {
  let root: XmlElement;
  try {
    root = parseXml(text);
  } catch (error) {
    if (error instanceof XmlSyntaxError) throw new HardwareOutputError(TOOL, error.message, { cause: error });
    throw error;
  }
  if (root.name !== 'nvidia_smi_log') throw new HardwareOutputError(TOOL, `the root element is <${root.name}>`);
  return root;
}

function gpuOf(gpu: XmlElement, index: number, driverVersion: string | undefined): GpuInfo {
  const name = presentValue(textAt(gpu, 'product_name'));
  const memoryTotalBytes = parseMemorySize(textAt(gpu, 'fb_memory_usage', 'total'));
  if (name === undefined || memoryTotalBytes === undefined) {
    throw new HardwareOutputError(TOOL, `GPU ${index} has no product_name or fb_memory_usage/total`);
  }
  const optional = {
    uuid: presentValue(textAt(gpu, 'uuid')),
    memoryFreeBytes: parseMemorySize(textAt(gpu, 'fb_memory_usage', 'free')),
    driverVersion,
    pciBusId: presentValue(textAt(gpu, 'pci', 'pci_bus_id')) ?? gpu.attributes['id'],
    mig: migOf(gpu),
  };
  return { index, vendor: 'nvidia', name, memoryTotalBytes, ...definedOnly(optional) };
}

/** Undefined for GPUs without MIG support, whose mode reads "N/A". */
function migOf(gpu: XmlElement): MigInfo | undefined {
  const current = presentValue(textAt(gpu, 'mig_mode', 'current_mig'));
  if (current === undefined) return undefined;
  const enabled = current === 'Enabled';
  const pending = presentValue(textAt(gpu, 'mig_mode', 'pending_mig'));
  const pendingEnabled = pending === undefined ? enabled : pending === 'Enabled';
  const instances = childrenOf(childOf(gpu, 'mig_devices'), 'mig_device').map(migInstanceOf);
  return { enabled, ...(pendingEnabled !== enabled ? { pendingEnabled } : {}), instances };
}

function migInstanceOf(device: XmlElement, position: number): MigInstance {
  const gpuInstanceId = parseInteger(textAt(device, 'gpu_instance_id'));
  const computeInstanceId = parseInteger(textAt(device, 'compute_instance_id'));
  const memoryTotalBytes = parseMemorySize(textAt(device, 'fb_memory_usage', 'total'));
  if (gpuInstanceId === undefined || computeInstanceId === undefined || memoryTotalBytes === undefined) {
    throw new HardwareOutputError(TOOL, `MIG device ${position} lacks its instance ids or fb_memory_usage/total`);
  }
  const optional = {
    memoryFreeBytes: parseMemorySize(textAt(device, 'fb_memory_usage', 'free')),
    multiprocessorCount: parseInteger(textAt(device, 'device_attributes', 'shared', 'multiprocessor_count')),
  };
  const index = parseInteger(textAt(device, 'index')) ?? position;
  return { index, gpuInstanceId, computeInstanceId, memoryTotalBytes, ...definedOnly(optional) };
}
