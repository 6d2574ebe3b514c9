// Reads InfiniBand/RoCE ports from /sys/class/infiniband/<device>/ports/<port>/{state,phys_state,rate,link_layer},
// either as attribute values already read or as a `grep . <files>` style "path:value" listing.
import type { InfinibandPort } from './hardware-profile.js';
import { infinibandPortOf } from './infiniband-port-values.js';

export const INFINIBAND_SYSFS_ROOT = '/sys/class/infiniband';

/** The port files detectHardware reads; each holds one line. */
export const INFINIBAND_PORT_ATTRIBUTES = ['state', 'phys_state', 'rate', 'link_layer'] as const;

export interface InfinibandSysfsPort {
  device: string;
  port: number;
  /** Raw file contents by file name; a file that was not read is missing. */
  attributes: Partial<Record<string, string>>;
}

const PORT_FILE = /^(?:.*\/)?infiniband\/([^/]+)\/ports\/(\d+)\/([^/:]+):(.*)$/;

/** Groups a "path:value" listing by port, in the order the ports first appear. */
export function parseInfinibandSysfsListing(text: string): InfinibandSysfsPort[] {
  const ports = new Map<string, InfinibandSysfsPort>();
  for (const line of text.split(/\r?\n/)) {
    const match = PORT_FILE.exec(line.trim());
    if (!match?.[1] || !match[3]) continue;
    const key = `${match[1]}/${match[2]}`;
    const port = ports.get(key) ?? { device: match[1], port: Number(match[2]), attributes: {} };
    port.attributes[match[3]] = match[4]?.trim() ?? '';
    ports.set(key, port);
  }
  return [...ports.values()];
}

/** A port from its sysfs files; without a state file the state is "unknown", so it does not count as up. */
export function infinibandPortFromSysfs({ device, port, attributes }: InfinibandSysfsPort): InfinibandPort {
  return infinibandPortOf(`${INFINIBAND_SYSFS_ROOT}/${device}/ports/${port}`, device, port, {
    state: attributes['state'],
    physicalState: attributes['phys_state'],
    rate: attributes['rate'],
    linkLayer: attributes['link_layer'],
  });
}
