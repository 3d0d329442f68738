/**
 * Logging: pino, one JSON line per event on stderr for journald and log shippers; on a
 * terminal the same events as short readable lines. stdout carries only the command's
 * result (cli/output.ts), so `kairos-spegel status > file` holds no log line. pino-pretty is not used: it
 * runs in a worker thread that a single executable cannot load.
 */
import { fstatSync, writeSync } from 'node:fs';
import pino, { type Logger } from 'pino';
import { formatPretty } from './pretty.ts';

export type { Logger };

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface LoggerOptions {
  level: LogLevel;
  pretty: boolean;
  /** Prefix each line with its syslog priority, for journald (see stderrIsJournal). */
  journal?: boolean;
}

/** sd-daemon(3) priorities by pino level: journald reads a "<N>" prefix as the line's priority. */
const PRIORITIES: Record<string, number> = { trace: 7, debug: 7, info: 6, warn: 4, error: 3, fatal: 2 };

/**
 * Whether stderr is connected to the journal: systemd sets JOURNAL_STREAM to the
 * "device:inode" of the stream it connected (systemd.exec(5)). The variable alone is not
 * enough: it is inherited by children whose stderr went elsewhere (a pipe under yip).
 */
export function stderrIsJournal(env: NodeJS.ProcessEnv = process.env): boolean {
  const m = /^(\d+):(\d+)$/.exec(env['JOURNAL_STREAM'] ?? '');
  if (!m) return false;
  try {
    const st = fstatSync(2, { bigint: true });
    return st.dev === BigInt(m[1]!) && st.ino === BigInt(m[2]!);
  } catch {
    return false;
  }
}

function withPriority(line: string): string {
  // Our own format: every line starts with its level (formatters.level below).
  const level = /^\{"level":"(\w+)"/.exec(line)?.[1];
  return `<${PRIORITIES[level ?? 'info'] ?? 6}>${line}`;
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
    // On a terminal a progress line may stand unfinished: a log line clears it rather than running on after it, and the bar redraws below.
    fdStream(2, opts.pretty ? (line) => `\r\x1b[K${formatPretty(line, color)}` : opts.journal ? withPriority : undefined),
  );
}
