/** Logs: readable lines on a terminal (the JSON lines the binary writes are in logging.test.ts). */
import { describe, expect, it } from 'vitest';
import { formatPretty } from '../../src/log/pretty.ts';

describe('logs', () => {
  it('read as short lines on a terminal', () => {
    const line = JSON.stringify({ level: 'warn', time: '2026-11-22T10:11:12.000Z', cmd: 'configure', file: '/etc/x y', msg: 'something' });
    expect(formatPretty(line, false)).toBe('10:11:12 WARN  something cmd=configure file="/etc/x y"\n');
    expect(formatPretty(line, true)).toContain('\x1b[33mWARN ');
  });
});
