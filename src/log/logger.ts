// Structured JSON logs, one line per event. Child loggers carry jobId and peer so every line that has them shows them.
import { pino, type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export interface LoggerOptions {
  level?: LevelWithSilent;
  /** 1 = stdout (the daemon), 2 = stderr (commands whose stdout is their result). */
  fd?: 1 | 2;
  name?: string;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    { level: options.level ?? 'info', base: { name: options.name ?? 'infernet', pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ fd: options.fd ?? 1, sync: true }),
  );
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
