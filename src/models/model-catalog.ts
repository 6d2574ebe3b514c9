// The models a provider serves, and how a client's reference to a model is resolved to one of its files. A model
// is known by the sha256 of its file, not only its name: a client that names a hash gets that very file or nothing.
import { stat } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { sha256OfFile } from '../content/index.js';
import type { ModelOffer, ModelRef } from '../protocol/index.js';

export interface CatalogEntry {
  name: string;
  path: string;
  sizeBytes: number;
  /** The file's sha256, hex: computed once when the catalog is opened and told to aggregators in each offer. */
  sha256: string;
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
      entries.push({ name: modelNameOf(absolute), path: absolute, sizeBytes: info.size, sha256: await sha256OfFile(absolute) });
    }
    return new ModelCatalog(entries);
  }

  get paths(): string[] {
    return this.entries.map((entry) => entry.path);
  }

  offers(): ModelOffer[] {
    return this.entries.map(({ name, sizeBytes, sha256 }) => ({ name, sizeBytes, sha256 }));
  }

  /**
   * The local file for a reference: by the client's path when we have that very file, else by name; when the
   * reference names a sha256, only a file with that hash (another file under the same name is not the model asked).
   */
  resolve(ref: ModelRef): CatalogEntry | undefined {
    const candidates = ref.sha256 ? this.entries.filter((entry) => entry.sha256 === ref.sha256) : this.entries;
    return candidates.find((entry) => ref.path !== undefined && entry.path === ref.path) ?? candidates.find((entry) => entry.name === ref.name);
  }
}

/**
 * Whether a provider's advertised models include the one a job names. A job that names a sha256 matches only an
 * offer of that hash: an offer with no hash proves nothing about its file, so it is not matched.
 */
export function offersModel(offers: readonly ModelOffer[], ref: ModelRef): boolean {
  return offers.some((offer) => offer.name === ref.name && (!ref.sha256 || offer.sha256 === ref.sha256));
}

