// Hardware detection: what GPUs, memory and interconnect a provider has, for its capability record.
export type * from './hardware-profile.js';
export { detectHardware, type DetectHardwareOptions, type DetectHardwareReturnType } from './detect-hardware.js';
export { gpuClassOf, totalVramBytes } from './gpu-class.js';
export { HardwareCommandError, HardwareOutputError, type CommandFailure } from './errors.js';
export { COMMAND_TIMEOUT_MS, execFileRunner, type CommandResult, type CommandRunner } from './command-runner.js';
export type { ListDirectory, ReadTextFile } from './system-files.js';
export {
  NVIDIA_SMI_GPU_QUERY_FIELDS,
  parseNvidiaSmiCsv,
  parseNvidiaSmiQuery,
  type ParseNvidiaSmiCsvReturnType,
  type ParseNvidiaSmiQueryReturnType,
} from './parse-nvidia-smi-query.js';
export { parseNvidiaSmiXml, type ParseNvidiaSmiXmlReturnType } from './parse-nvidia-smi-xml.js';
export {
  parseNvidiaSmiTopo,
  summariseNvlink,
  type ParseNvidiaSmiTopoReturnType,
  type TopologyGpu,
  type TopologyLink,
  type TopologyLinkType,
  type TopologyNic,
} from './parse-nvidia-smi-topo.js';
export { nvidiaSmiFailureOf } from './nvidia-smi-values.js';
export { parseIbstat, type ParseIbstatReturnType } from './parse-ibstat.js';
export { parseIbstatus } from './parse-ibstatus.js';
export {
  infinibandPortFromSysfs,
  parseInfinibandSysfsListing,
  type InfinibandSysfsPort,
} from './parse-infiniband-sysfs.js';
export { parseRocmSmi, type ParseRocmSmiReturnType, type RocmSmiGpu } from './parse-rocm-smi.js';
export { parseCpuinfo } from './parse-cpuinfo.js';
export { XmlSyntaxError } from './xml-tree.js';
