/**
 * Command results on stdout: one JSON document with --json, otherwise text for people.
 * Logs never go through here: they go to stderr (log/logger.ts), so stdout carries
 * nothing but the result.
 *
 * Every JSON document names its schema (src/cli/schemas/<command>.v1.json): scripts can
 * rely on its keys (snake_case, null when absent) within a major version.
 */
import { writeSync } from 'node:fs';

export interface Output {
  readonly json: boolean;
  /** The command's result; printed as JSON with --json, else by `human`. */
  result(value: object, human: () => string): void;
}

function schemaId(document: string): string {
  return `kairos-spegel/${document}/v1`;
}

/** The JSON document of `document` (a command's name, or "error"): its schema first. */
export function jsonDocument(document: string, value: object): string {
  return `${JSON.stringify({ schema: schemaId(document), ...value }, null, 2)}\n`;
}

export function createOutput(command: string, json: boolean, fd = 1): Output {
  const write = (s: string) => writeSync(fd, s.endsWith('\n') || s === '' ? s : `${s}\n`);
  return {
    json,
    result(value, human) {
      write(json ? jsonDocument(command, value) : human());
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
