// Reads `ibstat`: one "CA 'name'" block per adapter, one "Port N:" block per port inside it.
import { definedOnly } from './defined-only.js';
import type { InfinibandPort } from './hardware-profile.js';
import { infinibandPortOf } from './infiniband-port-values.js';

export interface ParseIbstatReturnType {
  ports: InfinibandPort[];
  /** ibstat's "ibpanic: ..." line: it stops at the first adapter it cannot read (and exits 255). */
  failure?: string;
}

interface PortFields {
  device: string;
  port: number;
  fields: Map<string, string>;
}

export function parseIbstat(text: string): ParseIbstatReturnType {
  const ports: PortFields[] = [];
  let device: string | undefined;
  let failure: string | undefined;
  for (const line of text.split(/\r?\n/)) {
    const adapter = /^CA '([^']+)'/.exec(line);
    const port = /^\s+Port (\d+):\s*$/.exec(line);
    const field = /^\s+([^:]+):\s*(.*?)\s*$/.exec(line);
    if (adapter) device = adapter[1];
    else if (port && device) ports.push({ device, port: Number(port[1]), fields: new Map() });
    else if (/^ibpanic:/.test(line)) failure = line.trim();
    // Adapter-level fields ("CA type", "Firmware version") come before the adapter's first port: not kept.
    else if (field?.[1] && ports.at(-1)?.device === device) {
      ports.at(-1)?.fields.set(field[1].toLowerCase(), field[2] ?? '');
    }
  }
  return { ports: ports.map(portOf), ...definedOnly({ failure }) };
}

function portOf({ device, port, fields }: PortFields): InfinibandPort {
  return infinibandPortOf('ibstat', device, port, {
    state: fields.get('state'),
    physicalState: fields.get('physical state'),
    rate: fields.get('rate'),
    linkLayer: fields.get('link layer'),
  });
}
