/**
 * A token bucket shared by all upstream downloads: callers take the bytes they are about
 * to consume and wait while the bucket is in debt. It starts empty and holds at most
 * 50 ms of rate, so even a one-second transfer averages within 5% of the limit.
 */
import { setTimeout as sleep } from 'node:timers/promises';

export class RateLimiter {
  private tokens: number;
  private last = performance.now();
  private readonly capacity: number;
  private readonly bytesPerSec: number;

  constructor(bytesPerSec: number) {
    this.bytesPerSec = bytesPerSec;
    this.capacity = Math.max(1, bytesPerSec / 20);
    this.tokens = 0;
  }

  /** Waits until `n` bytes may be consumed; resolves to the time waited (ms). */
  async take(n: number, signal?: AbortSignal): Promise<number> {
    const now = performance.now();
    this.tokens = Math.min(this.capacity, this.tokens + ((now - this.last) / 1000) * this.bytesPerSec);
    this.last = now;
    this.tokens -= n;
    if (this.tokens >= 0) return 0;
    const waitMs = (-this.tokens / this.bytesPerSec) * 1000;
    await sleep(waitMs, undefined, { signal });
    return waitMs;
  }
}
