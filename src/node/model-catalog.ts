// The models a provider serves, and how a client's reference to a model is resolved to one of its files.
import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type { ModelOffer, ModelRef } from '../protocol/index.js';

export interface CatalogEntry {
  name: string;
  path: string;
  sizeBytes: number;
}

/** A model's network name: its file name without the .gguf extension. */
export function modelNameOf(path: string): string {
  return basename(path).replace(/\.gguf$/i, '');
}

export class ModelCatalog {
  private constructor(private readonly entries: readonly CatalogEntry[]) {}

  static async fromPaths(paths: readonly string[]): Promise<ModelCatalog> {
    const entries: CatalogEntry[] = [];
    for (const path of paths) {
      const absolute = resolve(path);
      const info = await stat(absolute).catch(() => undefined);
      if (!info?.isFile()) throw new Error(`configured model ${absolute} is not a readable file`);
      entries.push({ name: modelNameOf(absolute), path: absolute, sizeBytes: info.size });
    }
    return new ModelCatalog(entries);
  }

  get paths(): string[] {
    return this.entries.map((entry) => entry.path);
  }

  offers(): ModelOffer[] {
    return this.entries.map(({ name, sizeBytes }) => ({ name, sizeBytes }));
  }

  /** The local file for a reference: by the client's path when we have that very file, else by name. */
  resolve(ref: ModelRef): CatalogEntry | undefined {
    return this.entries.find((entry) => ref.path !== undefined && entry.path === ref.path) ?? this.entries.find((entry) => entry.name === ref.name);
  }
}

/** Whether a provider's advertised models include the one a job names. */
export function offersModel(offers: readonly ModelOffer[], ref: ModelRef): boolean {
  return offers.some((offer) => offer.name === ref.name && (!ref.sha256 || !offer.sha256 || offer.sha256 === ref.sha256));
}
