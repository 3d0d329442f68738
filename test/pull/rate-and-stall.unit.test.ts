/** The token bucket and the stall detector, against the clock. */
import { describe, expect, it } from 'vitest';
import { RateLimiter } from '../../src/pull/rate-limiter.ts';
import { StallWatch } from '../../src/pull/stall-watch.ts';
import { parseByteRate, parseByteSize } from '../../src/util/units.ts';

describe('RateLimiter', () => {
  it('holds concurrent takers to the rate, within 5%', async () => {
    const rate = 2_000_000;
    const bucket = new RateLimiter(rate);
    const started = performance.now();
    let taken = 0;
    await Promise.all(
      [0, 1, 2].map(async () => {
        for (let i = 0; i < 40; i++) {
          await bucket.take(50_000);
          taken += 50_000;
        }
      }),
    );
    const seconds = (performance.now() - started) / 1000;
    expect(taken / seconds).toBeLessThanOrEqual(rate * 1.05);
    expect(taken / seconds).toBeGreaterThan(rate * 0.85);
  });
});

describe('StallWatch', () => {
  it('fires when too few bytes arrive within the window, not before', async () => {
    let stalledAt = 0;
    const started = performance.now();
    const w = new StallWatch(1000, 400, () => (stalledAt ||= performance.now()));
    await new Promise((r) => setTimeout(r, 300));
    expect(stalledAt).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    w.stop();
    expect(stalledAt - started).toBeGreaterThanOrEqual(400);
    expect(stalledAt - started).toBeLessThan(600);
  });
  it('does not fire while data flows or while the agent throttles', async () => {
    let fired = false;
    const w = new StallWatch(1000, 200, () => (fired = true));
    for (let i = 0; i < 10; i++) {
      w.data(500);
      await new Promise((r) => setTimeout(r, 50));
    }
    for (let i = 0; i < 10; i++) {
      w.throttled();
      await new Promise((r) => setTimeout(r, 50));
    }
    w.stop();
    expect(fired).toBe(false);
  });
});

describe('units', () => {
  it('parses sizes and rates', () => {
    expect(parseByteSize('512MiB')).toBe(512 * 2 ** 20);
    expect(parseByteSize('2GB')).toBe(2e9);
    expect(parseByteSize(4096)).toBe(4096);
    expect(parseByteRate('5MB/s')).toBe(5e6);
    expect(parseByteRate('40Mbit/s')).toBe(5e6);
    expect(parseByteRate('1MiB/s')).toBe(2 ** 20);
    expect(parseByteRate(0)).toBe(0);
    expect(parseByteRate('fast')).toBeUndefined();
  });
});
