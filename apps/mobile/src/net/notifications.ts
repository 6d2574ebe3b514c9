// Which job events the phone tells its user about, and in what words: a pure mapping, so the same decision
// drives local notifications in the app and the tests.
import type { JobEvent } from './submit-job.js';

export interface JobNotification {
  jobId: string;
  kind: 'running' | 'completed' | 'failed';
  title: string;
  body: string;
}

const PREVIEW_CHARACTERS = 120;

export function notificationFor(event: JobEvent, model: string): JobNotification | null {
  const { jobId } = event;
  if (event.type === 'status' && event.status === 'running') return { jobId, kind: 'running', title: `${model}: running`, body: 'A provider accepted the job.' };
  if (event.type === 'completed') {
    const preview = event.output.length > PREVIEW_CHARACTERS ? `${event.output.slice(0, PREVIEW_CHARACTERS)}…` : event.output;
    return { jobId, kind: 'completed', title: `${model}: done (${event.tokens} tokens)`, body: preview || '(empty output)' };
  }
  if (event.type === 'failed') return { jobId, kind: 'failed', title: `${model}: failed`, body: `${event.code}: ${event.message}` };
  return null;
}
