// The job event feed's cursors beside a FileJobStore: one small JSON file, replaced whole (written aside, then
// renamed) so that a crash leaves the old places or the new ones, never a torn file.
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { JobFeedCursors } from './job-event-feed.js';

export class FileFeedCursors implements JobFeedCursors {
  private queue: Promise<unknown> = Promise.resolve();

  constructor(private readonly path: string) {}

  async read(reader: string): Promise<number | undefined> {
    return (await this.load())[reader];
  }

  write(reader: string, seq: number): Promise<void> {
    const run = this.queue.then(async () => {
      const cursors = { ...(await this.load()), [reader]: seq };
      await mkdir(dirname(this.path), { recursive: true });
      const aside = `${this.path}.${process.pid}.tmp`;
      await writeFile(aside, JSON.stringify(cursors) + '\n', { mode: 0o600 });
      await rename(aside, this.path);
    });
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async load(): Promise<Record<string, number>> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw error;
    }
    const parsed: unknown = JSON.parse(text);
    const cursors: Record<string, number> = {};
    if (parsed && typeof parsed === 'object') {
      for (const [reader, seq] of Object.entries(parsed)) if (Number.isSafeInteger(seq)) cursors[reader] = seq as number;
    }
    return cursors;
  }
}
