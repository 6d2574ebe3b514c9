// The DHT keys a provider is listed under: one per model it serves, one per kind of GPU it has, and one when it
// runs RPC stages for other heads. A key is the sha256 of its text as a raw CID, which is what the DHT's
// provider records are indexed by.
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

/** Providers that run RPC stages for heads are listed under one key of their own. */
export const STAGES_KEY = 'stages:llama-rpc';

export async function cidOfKey(key: string): Promise<CID> {
  return CID.create(1, RAW_CODEC, await sha256.digest(new TextEncoder().encode(key)));
}

/** Every key a record is announced under, models first. */
export function announceKeysOf(record: Pick<ProviderRecord, 'models' | 'hardware' | 'stages'>): string[] {
  return [...new Set([...record.models.map((model) => modelKey(model.name)), ...gpuClassesOf(record.hardware).map(gpuKey), ...(record.stages ? [STAGES_KEY] : [])])];
}
