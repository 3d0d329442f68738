/**
 * The error catalogue is a promise to scripts: README lists every code with the exit
 * status the agent really returns for it, and the exit statuses a script branches on stay
 * apart (a usage error is not "unhealthy", a held lock is not a failure).
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { AgentError, ERROR_CODES, EXIT_DEGRADED, EXIT_FAILURE, EXIT_LOCKED, EXIT_OK, EXIT_UNHEALTHY, EXIT_SIGINT, EXIT_SIGTERM, EXIT_USAGE, InterruptedError, type ErrorCode } from '../src/errors.ts';

const README = readFileSync(path.resolve(import.meta.dirname, '../README.md'), 'utf8');
const rows = new Map([...README.matchAll(/^\| `(E_[A-Z0-9_]+)` \| ([\d, ]+) \| (.+) \|$/gm)].map((m) => [m[1]!, { exit: m[2]!, meaning: m[3]! }]));

describe('error catalogue', () => {
  it('README lists every code, with its exit status and meaning, and no other', () => {
    expect([...rows.keys()].sort()).toEqual(Object.keys(ERROR_CODES).sort());
    for (const [code, { exit, meaning }] of Object.entries(ERROR_CODES)) {
      expect(rows.get(code)).toEqual({ exit: code === 'E_INTERRUPTED' ? '130, 143' : String(exit), meaning });
    }
  });

  it('an error takes its exit status from its code', () => {
    for (const code of Object.keys(ERROR_CODES) as ErrorCode[]) expect(new AgentError(code, 'x').exitCode).toBe(ERROR_CODES[code].exit);
    expect(new InterruptedError('SIGINT').exitCode).toBe(EXIT_SIGINT);
    expect(new InterruptedError('SIGTERM').exitCode).toBe(EXIT_SIGTERM);
  });

  it('the exit statuses scripts act on are distinct', () => {
    const statuses = [EXIT_OK, EXIT_FAILURE, EXIT_USAGE, EXIT_DEGRADED, EXIT_UNHEALTHY, EXIT_LOCKED, 130, 143];
    expect(new Set(statuses).size).toBe(statuses.length);
    expect(ERROR_CODES.E_USAGE.exit).toBe(EXIT_USAGE);
    expect(ERROR_CODES.E_CONFIG.exit).toBe(EXIT_USAGE);
    expect(ERROR_CODES.E_LOCKED.exit).toBe(EXIT_LOCKED);
  });
});
