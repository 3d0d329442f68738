/**
 * Logging: pino, one JSON line per event on stderr for journald and log shippers; on a
 * terminal the same events as short readable lines. stdout carries only the command's
 * result (cli/output.ts), so `kairos-spegel status > file` holds no log line. pino-pretty is not used: it
 * runs in a worker thread that a single executable cannot load.
 */
import { writeSync } from 'node:fs';
import pino, { type Logger } from 'pino';
import { formatPretty } from './pretty.ts';

export type { Logger };

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  level: LogLevel;
  pretty: boolean;
}

/** Synchronous writes: a short-lived CLI must not lose its last lines on exit. */
function fdStream(fd: number, transform?: (line: string) => string) {
  return {
    write(line: string) {
      writeSync(fd, transform ? transform(line) : line);
    },
  };
}

export function createLogger(opts: LoggerOptions): Logger {
  const color = opts.pretty && process.env['NO_COLOR'] === undefined;
  return pino(
    {
      level: opts.level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    fdStream(2, opts.pretty ? (line) => formatPretty(line, color) : undefined),
  );
}
