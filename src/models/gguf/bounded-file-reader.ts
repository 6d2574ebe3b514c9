// Sequential little-endian reads from a file through one fixed window, so a multi-gigabyte model's header
// is parsed without ever holding more than a chunk (or one long string) in memory.

/** The one call needed from a file; node's FileHandle fits, and a test can count what is read. */
export interface PositionalReadable {
  read(buffer: Buffer, offset: number, length: number, position: number): Promise<{ bytesRead: number }>;
}

export const DEFAULT_CHUNK_BYTES = 1 << 20;

export class BoundedFileReader {
  private window: Buffer;
  private windowStart = 0; // file offset of window[0]
  private windowLength = 0; // valid bytes in window
  private cursor = 0; // offset inside window

  constructor(
    private readonly handle: PositionalReadable,
    readonly fileSize: number,
    chunkBytes = DEFAULT_CHUNK_BYTES,
  ) {
    this.window = Buffer.alloc(chunkBytes);
  }

  /** File offset of the next byte to be read. */
  get position(): number {
    return this.windowStart + this.cursor;
  }

  /** Makes the next `bytes` bytes readable synchronously; false if the file ends first. */
  async ensure(bytes: number): Promise<boolean> {
    if (this.windowLength - this.cursor >= bytes) return true;
    if (this.position + bytes > this.fileSize) return false;
    await this.refill(bytes);
    return this.windowLength - this.cursor >= bytes;
  }

  /** Moves forward without reading the skipped bytes into memory when they lie beyond the window. */
  skip(bytes: number): boolean {
    if (this.position + bytes > this.fileSize) return false;
    const inWindow = this.windowLength - this.cursor;
    if (bytes <= inWindow) {
      this.cursor += bytes;
      return true;
    }
    this.windowStart = this.position + bytes;
    this.windowLength = 0;
    this.cursor = 0;
    return true;
  }

  u8(): number {
    return this.window.readUInt8(this.advance(1));
  }
  i8(): number {
    return this.window.readInt8(this.advance(1));
  }
  u16(): number {
    return this.window.readUInt16LE(this.advance(2));
  }
  i16(): number {
    return this.window.readInt16LE(this.advance(2));
  }
  u32(): number {
    return this.window.readUInt32LE(this.advance(4));
  }
  i32(): number {
    return this.window.readInt32LE(this.advance(4));
  }
  f32(): number {
    return this.window.readFloatLE(this.advance(4));
  }
  f64(): number {
    return this.window.readDoubleLE(this.advance(8));
  }
  u64(): bigint {
    return this.window.readBigUInt64LE(this.advance(8));
  }
  i64(): bigint {
    return this.window.readBigInt64LE(this.advance(8));
  }
  utf8(bytes: number): string {
    const start = this.advance(bytes);
    return this.window.toString('utf8', start, start + bytes);
  }

  private advance(bytes: number): number {
    const at = this.cursor;
    this.cursor += bytes;
    return at;
  }

  // Keeps the unread tail, grows the window only when one value is longer than a chunk.
  private async refill(bytes: number): Promise<void> {
    const tail = this.windowLength - this.cursor;
    const target = this.window.length >= bytes ? this.window : Buffer.alloc(bytes);
    this.window.copy(target, 0, this.cursor, this.windowLength);
    this.window = target;
    this.windowStart = this.position;
    this.cursor = 0;
    this.windowLength = tail;
    const wanted = Math.min(this.window.length - tail, this.fileSize - (this.windowStart + tail));
    let filled = 0;
    while (filled < wanted) {
      const at = tail + filled;
      const { bytesRead } = await this.handle.read(this.window, at, wanted - filled, this.windowStart + at);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    this.windowLength = tail + filled;
  }
}
