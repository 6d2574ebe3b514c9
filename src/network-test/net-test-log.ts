// The results of `infernet net test`, one JSON line each in the node home, newest last.
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NetTestResult } from './net-test-result.js';

export const NET_TESTS_FILE = 'net-tests.jsonl';

export function netTestsFileOf(homeDir: string): string {
  return join(homeDir, NET_TESTS_FILE);
}

export async function appendNetTestResult(file: string, result: NetTestResult): Promise<void> {
  await appendFile(file, JSON.stringify(result) + '\n', { mode: 0o600 });
}

/** Every stored result; a torn last line (a crash mid-write) is skipped. */
export async function readNetTestResults(file: string): Promise<NetTestResult[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  return text.split('\n').flatMap((line) => {
    if (!line.trim()) return [];
    try {
      return [JSON.parse(line) as NetTestResult];
    } catch {
      return [];
    }
  });
}
