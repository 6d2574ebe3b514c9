// A strict reader of the Prometheus text exposition format (version 0.0.4): `infernet top` reads a node's
// /metrics with it, and tests use it to check that what the node serves is well formed, not just present.
import { InfernetError } from '../errors/index.js';

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';

export interface MetricSample {
  /** The sample's own name: a histogram's samples end in _bucket, _sum or _count. */
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  type: MetricType;
  help?: string;
  samples: MetricSample[];
}

export class MetricsFormatError extends InfernetError {
  override readonly name = 'MetricsFormatError';
  constructor(
    readonly line: number,
    message: string,
  ) {
    super('internal', `line ${line}: ${message}`);
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set<MetricType>(['counter', 'gauge', 'histogram', 'summary', 'untyped']);
const SUFFIXES: Record<MetricType, readonly string[]> = { counter: [''], gauge: [''], untyped: [''], histogram: ['_bucket', '_sum', '_count'], summary: ['', '_sum', '_count'] };

/** Families by name, in the order they appear. Throws MetricsFormatError naming the first bad line. */
export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  const families = new Map<string, MetricFamily>();
  const seen = new Set<string>();
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  lines.forEach((raw, index) => {
    const number = index + 1;
    const line = raw.trim();
    if (!line) return;
    if (line.startsWith('#')) return readComment(line, number, families);
    const sample = readSample(line, number);
    const family = familyOf(sample.name, families);
    if (!family) throw new MetricsFormatError(number, `sample ${sample.name} has no # TYPE line before it`);
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    if (seen.has(key)) throw new MetricsFormatError(number, `duplicate series ${sample.name}`);
    seen.add(key);
    if (family.type === 'histogram' && sample.name.endsWith('_bucket') && sample.labels.le === undefined) throw new MetricsFormatError(number, `histogram bucket without an le label`);
    if (family.type === 'counter' && sample.value < 0) throw new MetricsFormatError(number, `counter ${sample.name} is negative`);
    family.samples.push(sample);
  });
  for (const family of families.values()) if (family.type === 'histogram') checkHistogram(family);
  return families;
}

/** The value of one series, or undefined when the node has not reported it. */
export function sampleValue(families: Map<string, MetricFamily>, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const family of families.values()) {
    for (const sample of family.samples) {
      if (sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value)) return sample.value;
    }
  }
  return undefined;
}

/** The sum of every series of `name` whose labels include `labels`. */
export function sumOf(families: Map<string, MetricFamily>, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const family of families.values()) {
    for (const sample of family.samples) {
      if (sample.name === name && Object.entries(labels).every(([key, value]) => sample.labels[key] === value)) sum += sample.value;
    }
  }
  return sum;
}

function readComment(line: string, number: number, families: Map<string, MetricFamily>): void {
  const match = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s+(.*))?$/.exec(line);
  if (!match) return; // a plain comment
  const [, keyword, name, rest = ''] = match as unknown as [string, 'HELP' | 'TYPE', string, string?];
  if (!METRIC_NAME.test(name)) throw new MetricsFormatError(number, `invalid metric name ${JSON.stringify(name)}`);
  const family = families.get(name) ?? { name, type: 'untyped' as MetricType, samples: [] };
  if (keyword === 'HELP') {
    if (family.help !== undefined) throw new MetricsFormatError(number, `second HELP for ${name}`);
    family.help = rest.replace(/\\n/g, '\n').replace(/\\\\/g, '\\');
  } else {
    if (families.has(name) && (family.samples.length || family.type !== 'untyped')) throw new MetricsFormatError(number, `TYPE for ${name} after its samples or a second TYPE`);
    if (!TYPES.has(rest as MetricType)) throw new MetricsFormatError(number, `unknown metric type ${JSON.stringify(rest)}`);
    family.type = rest as MetricType;
  }
  families.set(name, family);
}

function readSample(line: string, number: number): MetricSample {
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (!nameMatch) throw new MetricsFormatError(number, `expected a metric name: ${line.slice(0, 60)}`);
  const name = nameMatch[0];
  let rest = line.slice(name.length);
  const labels: Record<string, string> = {};
  if (rest.startsWith('{')) {
    let position = 1;
    for (;;) {
      while (rest[position] === ' ') position++;
      if (rest[position] === '}') break;
      const labelMatch = /^([a-zA-Z_][a-zA-Z0-9_]*)\s*=\s*"/.exec(rest.slice(position));
      if (!labelMatch) throw new MetricsFormatError(number, `bad label in ${name}`);
      const labelName = labelMatch[1]!;
      if (!LABEL_NAME.test(labelName) || labelName in labels) throw new MetricsFormatError(number, `bad or repeated label ${labelName} in ${name}`);
      position += labelMatch[0].length;
      let value = '';
      for (;;) {
        const char = rest[position];
        if (char === undefined) throw new MetricsFormatError(number, `unterminated label value in ${name}`);
        position++;
        if (char === '"') break;
        if (char === '\\') {
          const escaped = rest[position++];
          if (escaped === 'n') value += '\n';
          else if (escaped === '\\' || escaped === '"') value += escaped;
          else throw new MetricsFormatError(number, `invalid escape \\${escaped ?? ''} in a label value of ${name}`);
        } else value += char;
      }
      labels[labelName] = value;
      while (rest[position] === ' ') position++;
      if (rest[position] === ',') position++;
      else if (rest[position] !== '}') throw new MetricsFormatError(number, `expected , or } after label ${labelName} in ${name}`);
    }
    rest = rest.slice(position + 1);
  }
  const fields = rest.trim().split(/\s+/);
  if (!rest.startsWith(' ') || fields.length < 1 || fields.length > 2) throw new MetricsFormatError(number, `expected "<value> [timestamp]" after ${name}`);
  const value = parseValue(fields[0]!, number);
  if (fields[1] !== undefined && !/^-?\d+$/.test(fields[1])) throw new MetricsFormatError(number, `invalid timestamp ${fields[1]}`);
  return { name, labels, value };
}

function parseValue(text: string, number: number): number {
  if (text === '+Inf' || text === 'Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new MetricsFormatError(number, `invalid sample value ${JSON.stringify(text)}`);
  return Number(text);
}

function familyOf(sampleName: string, families: Map<string, MetricFamily>): MetricFamily | undefined {
  for (const family of families.values()) {
    if (SUFFIXES[family.type].some((suffix) => family.name + suffix === sampleName)) return family;
  }
  return undefined;
}

/** Buckets are cumulative, end at +Inf, and the +Inf bucket equals _count, for every label set. */
function checkHistogram(family: MetricFamily): void {
  const groups = new Map<string, { buckets: Array<[number, number]>; count?: number }>();
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const group = groups.get(key) ?? { buckets: [] };
    groups.set(key, group);
    if (sample.name.endsWith('_bucket')) group.buckets.push([parseValue(le!, 0), sample.value]);
    else if (sample.name.endsWith('_count')) group.count = sample.value;
  }
  for (const group of groups.values()) {
    const sorted = group.buckets.sort((a, b) => a[0] - b[0]);
    sorted.forEach(([, value], index) => {
      if (index > 0 && value < sorted[index - 1]![1]) throw new MetricsFormatError(0, `histogram ${family.name} buckets are not cumulative`);
    });
    const last = sorted.at(-1);
    if (!last || last[0] !== Infinity) throw new MetricsFormatError(0, `histogram ${family.name} has no +Inf bucket`);
    if (group.count !== undefined && group.count !== last[1]) throw new MetricsFormatError(0, `histogram ${family.name}: the +Inf bucket differs from _count`);
  }
}
