// The one call the daemon needs: a model file's path in, its descriptor out, reading only the header.
import { stat } from 'node:fs/promises';
import { describeModel } from './describe-model.js';
import { readGgufHeader } from './gguf/read-gguf-header.js';
import type { ModelDescriptor } from './model-descriptor.js';

export async function describeModelFile(path: string): Promise<ModelDescriptor> {
  const [header, info] = await Promise.all([readGgufHeader(path), stat(path)]);
  return describeModel(header, info.size);
}
