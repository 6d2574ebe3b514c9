// The job event feed's cursors in the node's PocketBase (collection job_feed_cursors, one row per reader).
import type PocketBase from 'pocketbase';
import type { JobFeedCursors } from '../jobs/job-event-feed.js';
import { COLLECTIONS, type JobFeedCursorRow } from './collections.js';
import { wrapRequestError } from './pocketbase-connection.js';

export class PocketBaseFeedCursors implements JobFeedCursors {
  /** Row ids of readers already written, so that a move is one update. */
  private readonly rowIds = new Map<string, string>();

  /** `pb` must be authenticated as the superuser: the cursors are the node's own. */
  constructor(private readonly pb: PocketBase) {}

  async read(reader: string): Promise<number | undefined> {
    const row = await this.find(reader);
    return row?.seq;
  }

  async write(reader: string, seq: number): Promise<void> {
    const cursors = this.pb.collection(COLLECTIONS.jobFeedCursors);
    await this.request(`move the job feed cursor of ${reader}`, async () => {
      const id = this.rowIds.get(reader) ?? (await this.find(reader))?.id;
      const row = id ? await cursors.update<JobFeedCursorRow>(id, { seq }) : await cursors.create<JobFeedCursorRow>({ reader, seq });
      this.rowIds.set(reader, row.id);
    });
  }

  private async find(reader: string): Promise<JobFeedCursorRow | undefined> {
    const page = await this.request(`read the job feed cursor of ${reader}`, () =>
      this.pb.collection(COLLECTIONS.jobFeedCursors).getList<JobFeedCursorRow>(1, 1, { filter: this.pb.filter('reader = {:reader}', { reader }), skipTotal: true }),
    );
    const row = page.items[0];
    if (row) this.rowIds.set(reader, row.id);
    return row;
  }

  private async request<T>(operation: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw wrapRequestError(operation, error);
    }
  }
}
