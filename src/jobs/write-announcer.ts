// Tells in-process listeners that a store wrote a job event: the job event feed's wake-up, so that its readers
// follow a write at once instead of at their next poll.

export class WriteAnnouncer {
  private readonly listeners = new Set<() => void>();

  on(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => void this.listeners.delete(listener);
  }

  /** A listener that throws never fails the write that was announced. */
  announce(): void {
    for (const listener of this.listeners) {
      try {
        listener();
      } catch {
        // the feed logs its own failures; a wake-up has nothing to report
      }
    }
  }
}
