// Which process owns something another process may find later (a client job `infernet submit` records): its pid,
// and on Linux its start time, so that a pid the kernel has since given to another process is not taken for the
// owner still running.
import { readFileSync } from 'node:fs';

export interface ProcessIdentity {
  pid: number;
  /** The process's start, in clock ticks since boot (/proc/<pid>/stat, field 22); absent where there is no /proc. */
  start?: string;
}

/** This process. */
export function currentProcessIdentity(): ProcessIdentity {
  const start = processStart(process.pid);
  return { pid: process.pid, ...(start ? { start } : {}) };
}

/** Whether the process that `identity` names still runs (a process of another user counts). */
export function isProcessRunning(identity: ProcessIdentity): boolean {
  if (!isPidAlive(identity.pid)) return false;
  if (identity.start === undefined) return true;
  const start = processStart(identity.pid);
  // Without a readable /proc entry now, the pid answering is all there is to go by.
  return start === undefined || start === identity.start;
}

/** Whether any process has this pid (signal 0 checks without sending anything). */
export function isPidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'; // alive, but someone else's
  }
}

function processStart(pid: number): string | undefined {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces: fields are counted after its closing one.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return fields[19]; // field 22 overall: 3 + 19
}
