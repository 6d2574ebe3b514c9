// How nvidia-smi writes values, shared by its CSV, XML and topology parsers: placeholders for "no value",
// memory sizes with units, and the one-line messages it prints instead of output when the driver is unusable.

const ABSENT_VALUES = new Set(['', 'n/a', 'not supported', 'unknown error', 'insufficient permissions']);

/** The value, or undefined for nvidia-smi's placeholders ("N/A", "[N/A]", "[Not Supported]", ...). */
export function presentValue(raw: string | undefined): string | undefined {
  const value = raw?.trim();
  if (value === undefined) return undefined;
  // Bracketed values are always placeholders: "[N/A]", "[Requested functionality has been deprecated]".
  if (value.startsWith('[') && value.endsWith(']')) return undefined;
  return ABSENT_VALUES.has(value.toLowerCase()) ? undefined : value;
}

const BYTES_PER_UNIT: Record<string, number> = { b: 1, kib: 1024, mib: 1024 ** 2, gib: 1024 ** 3, tib: 1024 ** 4 };

/** "81559 MiB" or "81559" (with the unit from a CSV header) to bytes; undefined for placeholders. */
export function parseMemorySize(raw: string | undefined, defaultUnit = 'MiB'): number | undefined {
  const value = presentValue(raw);
  if (value === undefined) return undefined;
  const match = /^(\d+(?:\.\d+)?)\s*([KMGT]?i?B)?$/i.exec(value);
  const perUnit = BYTES_PER_UNIT[(match?.[2] ?? defaultUnit).toLowerCase()];
  if (!match?.[1] || perUnit === undefined) return undefined;
  return Math.round(Number(match[1]) * perUnit);
}

export function parseInteger(raw: string | undefined): number | undefined {
  const value = presentValue(raw);
  return value !== undefined && /^\d+$/.test(value) ? Number(value) : undefined;
}

const FAILURE_PATTERNS = [
  /^NVIDIA-SMI has failed\b.*$/m,
  /^No devices were found\b.*$/m,
  /^Failed to initialize NVML\b.*$/m,
  /^Unable to determine the device handle\b.*$/m,
  /^Driver\/library version mismatch\b.*$/m,
];

/** The message nvidia-smi printed instead of a report, if it did; such output means "no usable NVIDIA GPU". */
export function nvidiaSmiFailureOf(text: string): string | undefined {
  for (const pattern of FAILURE_PATTERNS) {
    const match = pattern.exec(text);
    if (match) return match[0].trim();
  }
  return undefined;
}
