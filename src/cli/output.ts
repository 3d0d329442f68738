/**
 * Command results on stdout: one JSON document with --json, otherwise text for
 * people. Logs never go through here (see log/logger.ts).
 */
import { writeSync } from 'node:fs';

export interface Output {
  readonly json: boolean;
  /** The command's result; printed as JSON with --json, else by `human`. */
  result(value: unknown, human: () => string): void;
  /** Text for people only (ignored with --json). */
  text(s: string): void;
}

export function createOutput(json: boolean, fd = 1): Output {
  const write = (s: string) => writeSync(fd, s.endsWith('\n') || s === '' ? s : `${s}\n`);
  return {
    json,
    result(value, human) {
      write(json ? JSON.stringify(value, null, 2) : human());
    },
    text(s) {
      if (!json) write(s);
    },
  };
}

/** Left-aligned columns separated by two spaces. */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (r: string[]) =>
    r
      .map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [fmt(header), ...rows.map(fmt)].join('\n');
}
