import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/util/duration.ts';

describe('durations (Go syntax)', () => {
  it('parses units and combinations', () => {
    expect(parseDuration('200ms')).toBe(200);
    expect(parseDuration('1.5s')).toBe(1500);
    expect(parseDuration('1h30m')).toBe(5_400_000);
    expect(parseDuration('500us')).toBe(0.5);
    expect(parseDuration('0')).toBe(0);
  });
  it('rejects numbers without units and junk', () => {
    for (const bad of ['200', '', 'soon', '5 m', '-1s', '1d', 's']) expect(parseDuration(bad), bad).toBeUndefined();
  });
  it('formats back in the shortest form', () => {
    expect(formatDuration(200)).toBe('200ms');
    expect(formatDuration(30_000)).toBe('30s');
    expect(formatDuration(5_400_000)).toBe('1h30m');
    expect(formatDuration(1500)).toBe('1500ms');
  });
});
