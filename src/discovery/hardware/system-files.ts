// Reading /proc and /sys, where a missing file or folder means "this machine has none", not an error.
import { readdir, readFile } from 'node:fs/promises';

/** A file's text, or undefined when it does not exist. */
export type ReadTextFile = (path: string) => Promise<string | undefined>;

/** The entries of a folder, or none when it does not exist. */
export type ListDirectory = (path: string) => Promise<string[]>;

export const readTextFile: ReadTextFile = async (path) => {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if (isAbsent(error)) return undefined;
    throw error;
  }
};

export const listDirectory: ListDirectory = async (path) => {
  try {
    return (await readdir(path)).sort();
  } catch (error) {
    if (isAbsent(error)) return [];
    throw error;
  }
};

const ABSENT_CODES = new Set(['ENOENT', 'ENOTDIR']);

const isAbsent = (error: unknown): boolean => ABSENT_CODES.has((error as NodeJS.ErrnoException).code ?? '');
