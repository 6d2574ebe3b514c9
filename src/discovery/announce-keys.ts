// The DHT keys a provider is listed under: one per model it serves and one per kind of GPU it has. A key is
// the sha256 of its text as a raw CID, which is what the DHT's provider records are indexed by.
import { CID } from 'multiformats/cid';
import { sha256 } from 'multiformats/hashes/sha2';
import { gpuClassesOf } from './hardware-summary.js';
import type { ProviderRecord } from './provider-record.js';

const RAW_CODEC = 0x55;

export function modelKey(name: string): string {
  return `model:${name}`;
}

export function gpuKey(gpuClass: string): string {
  return `gpu:${gpuClass}`;
}

export async function cidOfKey(key: string): Promise<CID> {
  return CID.create(1, RAW_CODEC, await sha256.digest(new TextEncoder().encode(key)));
}

/** Every key a record is announced under, models first. */
export function announceKeysOf(record: Pick<ProviderRecord, 'models' | 'hardware'>): string[] {
  return [...new Set([...record.models.map((model) => modelKey(model.name)), ...gpuClassesOf(record.hardware).map(gpuKey)])];
}
