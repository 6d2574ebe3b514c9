// Reads `nvidia-smi --query-gpu=... --format=csv[,noheader][,nounits]`. With a header, fields are found by
// name, so any field list works; without one, the caller says which fields it asked for, in order.
import { definedOnly } from './defined-only.js';
import { HardwareOutputError } from './errors.js';
import type { GpuInfo } from './hardware-profile.js';
import { nvidiaSmiFailureOf, parseInteger, parseMemorySize, presentValue } from './nvidia-smi-values.js';

/** The fields detectHardware asks for, in the order it asks. */
export const NVIDIA_SMI_GPU_QUERY_FIELDS = [
  'index',
  'name',
  'uuid',
  'memory.total',
  'memory.free',
  'driver_version',
  'pci.bus_id',
  'compute_cap',
] as const;

export interface ParseNvidiaSmiCsvReturnType {
  /** One record per GPU, field name to raw value (units kept when the output has them). */
  rows: Record<string, string>[];
  /** Units from a header such as "memory.total [MiB]", by field name. */
  units: Record<string, string>;
  /** What nvidia-smi printed instead of (or between) rows, such as the no-driver message. */
  failure?: string;
}

export interface ParseNvidiaSmiQueryReturnType {
  gpus: GpuInfo[];
  failure?: string;
}

const TOOL = 'nvidia-smi --query-gpu';
const HEADER_CELL = /^[a-z][a-zA-Z0-9_.]*(?: \[([^\]]+)\])?$/;

export function parseNvidiaSmiCsv(
  text: string,
  fieldsWithoutHeader: readonly string[] = NVIDIA_SMI_GPU_QUERY_FIELDS,
): ParseNvidiaSmiCsvReturnType {
  const failure = nvidiaSmiFailureOf(text);
  const lines = text.split(/\r?\n/).filter((line) => line.trim() !== '' && !nvidiaSmiFailureOf(line));
  const header = lines[0] === undefined ? undefined : headerOf(lines[0]);
  const fields = header?.fields ?? [...fieldsWithoutHeader];
  const rows = lines.slice(header ? 1 : 0).map((line, row) => recordOf(line, fields, row + 1));
  return { rows, units: header?.units ?? {}, ...(failure ? { failure } : {}) };
}

export function parseNvidiaSmiQuery(
  text: string,
  fieldsWithoutHeader: readonly string[] = NVIDIA_SMI_GPU_QUERY_FIELDS,
): ParseNvidiaSmiQueryReturnType {
  const { rows, units, failure } = parseNvidiaSmiCsv(text, fieldsWithoutHeader);
  const gpus = rows.map((row, position) => gpuOf(row, units, position));
  return { gpus, ...(failure ? { failure } : {}) };
}

const splitCells = (line: string): string[] => line.split(',').map((cell) => cell.trim());

/** A header is a row of field names; no data row is, since values start with digits, capitals or brackets. */
function headerOf(line: string): { fields: string[]; units: Record<string, string> } | undefined {
  const cells = splitCells(line).map((cell) => HEADER_CELL.exec(cell));
  if (cells.some((match) => match === null)) return undefined;
  const fields: string[] = [];
  const units: Record<string, string> = {};
  for (const match of cells as RegExpExecArray[]) {
    const field = match[0].replace(/ \[.*$/, '');
    fields.push(field);
    if (match[1]) units[field] = match[1];
  }
  return { fields, units };
}

function recordOf(line: string, fields: readonly string[], row: number): Record<string, string> {
  const cells = splitCells(line);
  if (cells.length !== fields.length) {
    const detail = `row ${row} has ${cells.length} values but ${fields.length} fields were asked for`;
    throw new HardwareOutputError(TOOL, detail);
  }
  return Object.fromEntries(fields.map((field, column) => [field, cells[column] ?? '']));
}

function gpuOf(row: Record<string, string>, units: Record<string, string>, position: number): GpuInfo {
  const name = presentValue(row['name']);
  const memoryTotalBytes = parseMemorySize(row['memory.total'], units['memory.total']);
  if (name === undefined || memoryTotalBytes === undefined) {
    throw new HardwareOutputError(TOOL, `GPU ${position} has no name or memory.total; both fields must be queried`);
  }
  const optional = {
    uuid: presentValue(row['uuid']),
    memoryFreeBytes: parseMemorySize(row['memory.free'], units['memory.free']),
    driverVersion: presentValue(row['driver_version']),
    computeCapability: presentValue(row['compute_cap']),
    pciBusId: presentValue(row['pci.bus_id']),
  };
  const index = parseInteger(row['index']) ?? position;
  return { index, vendor: 'nvidia', name, memoryTotalBytes, ...definedOnly(optional) };
}
