// The model a container mounts read-only: its absolute host path, checked to be a readable file before any
// container is made for it.
import { stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { ModelLoadError } from '../inference/index.js';

export async function hostModelPath(modelPath: string): Promise<string> {
  const absolute = resolve(modelPath);
  const info = await stat(absolute).catch((cause: unknown) => {
    throw new ModelLoadError(modelPath, `model file ${modelPath} cannot be read`, { cause });
  });
  if (!info.isFile()) throw new ModelLoadError(modelPath, `model ${modelPath} is not a file`);
  return absolute;
}
