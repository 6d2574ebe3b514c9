// Holds back streamed text that might be the start of a stop sequence, so that what was streamed always
// equals the final output, which ends before the stop sequence. Under a JSON grammar trailing whitespace is held
// too and dropped at the end: the grammar lets a model pad its output with newlines that are no part of the answer.

export interface StopScan {
  /** Text safe to emit now. */
  emit: string;
  /** True once a stop sequence was found; `emit` then ends right before it. */
  stopped: boolean;
}

export class StopSequenceScanner {
  private held = '';

  constructor(
    private readonly stops: readonly string[],
    private readonly options: { trimWhitespaceSuffix?: boolean } = {},
  ) {}

  push(text: string): StopScan {
    const trim = this.options.trimWhitespaceSuffix === true;
    if (!this.stops.length && !trim) return { emit: text, stopped: false };
    const buffer = this.held + text;
    const hit = this.firstStop(buffer);
    if (hit >= 0) {
      this.held = '';
      const emit = buffer.slice(0, hit);
      return { emit: trim ? emit.trimEnd() : emit, stopped: true };
    }
    const keep = Math.max(this.longestPartialStop(buffer), trim ? buffer.length - buffer.trimEnd().length : 0);
    this.held = buffer.slice(buffer.length - keep);
    return { emit: buffer.slice(0, buffer.length - keep), stopped: false };
  }

  /** What is still held back when generation ends without a stop. */
  flush(): string {
    const rest = this.options.trimWhitespaceSuffix ? this.held.trimEnd() : this.held;
    this.held = '';
    return rest;
  }

  private firstStop(buffer: string): number {
    const hits = this.stops.map((stop) => buffer.indexOf(stop)).filter((index) => index >= 0);
    return hits.length ? Math.min(...hits) : -1;
  }

  /** Length of the longest buffer suffix that is a proper prefix of some stop sequence. */
  private longestPartialStop(buffer: string): number {
    let longest = 0;
    for (const stop of this.stops) {
      for (let length = Math.min(stop.length - 1, buffer.length); length > longest; length--) {
        if (buffer.endsWith(stop.slice(0, length))) {
          longest = length;
          break;
        }
      }
    }
    return longest;
  }
}
