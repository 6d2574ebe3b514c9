// A body counted as it comes: a chunked request declares no length, so its bound is enforced on the bytes.
import { Transform, type TransformCallback } from 'node:stream';

/** Passes bytes through until they pass `limit`, then fails the stream with the error `tooLarge` makes. */
export class ByteLimit extends Transform {
  private size = 0;
  exceeded = false;

  constructor(
    private readonly limit: number,
    private readonly tooLarge: (limit: number) => Error,
  ) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    this.size += chunk.length;
    if (this.size <= this.limit) return done(null, chunk);
    this.exceeded = true;
    done(this.tooLarge(this.limit));
  }
}
