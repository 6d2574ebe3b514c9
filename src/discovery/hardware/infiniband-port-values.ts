// How ibstat, ibstatus and sysfs write a port's state, rate and link layer, read into one InfinibandPort.
import { definedOnly } from './defined-only.js';
import { HardwareOutputError } from './errors.js';
import type { InfinibandLinkLayer, InfinibandPort } from './hardware-profile.js';

/** A port's values as the tool printed them, under the tool's own field names mapped to these. */
export interface RawPortValues {
  state?: string;
  physicalState?: string;
  rate?: string;
  linkLayer?: string;
}

export function infinibandPortOf(source: string, device: string, port: number, raw: RawPortValues): InfinibandPort {
  const rateGbps = parseRateGbps(raw.rate);
  if (rateGbps === undefined) throw new HardwareOutputError(source, `${device} port ${port} has no rate`);
  const state = normalisePortState(raw.state) ?? 'unknown';
  const optional = { physicalState: normalisePortState(raw.physicalState) };
  return { device, port, state, rateGbps, linkLayer: parseLinkLayer(raw.linkLayer), ...definedOnly(optional) };
}

/** "400", "200 Gb/sec (4X HDR)", "2.5 Gb/sec (1X SDR)" to Gb/s; undefined when no number leads. */
export function parseRateGbps(raw: string | undefined): number | undefined {
  const match = /^\s*(\d+(?:\.\d+)?)(?!\S)/.exec(raw ?? '');
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

const STATE_SYNONYMS: Record<string, string> = { initializing: 'init', initialize: 'init' };

/** "Active" (ibstat) and "4: ACTIVE" (ibstatus, sysfs) both to "active"; "5: LinkUp" to "linkup". */
export function normalisePortState(raw: string | undefined): string | undefined {
  const word = raw?.replace(/^\s*\d+:\s*/, '').trim().toLowerCase();
  if (!word) return undefined;
  return STATE_SYNONYMS[word] ?? word;
}

/** Ports from before RoCE existed print no link layer; they are InfiniBand. */
export function parseLinkLayer(raw: string | undefined): InfinibandLinkLayer {
  return raw?.trim().toLowerCase() === 'ethernet' ? 'Ethernet' : 'InfiniBand';
}
