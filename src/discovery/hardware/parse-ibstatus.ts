// Reads `ibstatus`: one "Infiniband device 'mlx5_0' port 1 status:" block per port, values as sysfs has them.
import type { InfinibandPort } from './hardware-profile.js';
import { infinibandPortOf } from './infiniband-port-values.js';

interface PortFields {
  device: string;
  port: number;
  fields: Map<string, string>;
}

export function parseIbstatus(text: string): InfinibandPort[] {
  const ports: PortFields[] = [];
  for (const line of text.split(/\r?\n/)) {
    const heading = /^Infiniband device '([^']+)' port (\d+) status:/.exec(line);
    const field = /^\s+([^:]+):\s*(.*?)\s*$/.exec(line);
    if (heading?.[1]) ports.push({ device: heading[1], port: Number(heading[2]), fields: new Map() });
    else if (field?.[1]) ports.at(-1)?.fields.set(field[1].trim().toLowerCase(), field[2] ?? '');
  }
  return ports.map(portOf);
}

function portOf({ device, port, fields }: PortFields): InfinibandPort {
  return infinibandPortOf('ibstatus', device, port, {
    state: fields.get('state'),
    physicalState: fields.get('phys state'),
    rate: fields.get('rate'),
    linkLayer: fields.get('link_layer'),
  });
}
