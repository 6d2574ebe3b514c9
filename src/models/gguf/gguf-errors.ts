// Failures of reading or writing GGUF files, each with a message a user can act on.
import { InfernetError } from '../../errors/index.js';

/** The file is not GGUF, is truncated, or holds values no sane model has. */
export class GgufFormatError extends InfernetError {
  override readonly name = 'GgufFormatError';
  constructor(
    readonly path: string,
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super('internal', `${path} is not a readable GGUF file: ${reason}`, options);
  }
}

/** GGUF v1 (and any future version) lays out counts differently; reading on would misparse it. */
export class UnsupportedGgufVersionError extends InfernetError {
  override readonly name = 'UnsupportedGgufVersionError';
  constructor(
    readonly path: string,
    readonly version: number,
  ) {
    super('internal', 
      `${path} is GGUF version ${version}; only versions 2 and 3 are supported (re-convert it with a current llama.cpp)`,
    );
  }
}

/** A model shape the writer cannot express, such as a Q8_0 row that is not a whole number of blocks. */
export class InvalidModelShapeError extends InfernetError {
  override readonly name = 'InvalidModelShapeError';
  constructor(readonly reason: string) {
    super('internal', `Cannot write this model: ${reason}`);
  }
}
