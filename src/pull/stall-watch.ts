/**
 * Declares a transfer stalled when, over the last `afterMs`, it received fewer than
 * `bytesPerSec` on average. Time the agent itself held the transfer back (the upstream
 * rate limit) does not count against the source.
 */

export class StallWatch {
  private readonly events: { t: number; n: number }[] = [];
  private readonly started = performance.now();
  private lastThrottle = -Infinity;
  private readonly timer: NodeJS.Timeout;

  constructor(bytesPerSec: number, afterMs: number, onStall: () => void) {
    const check = () => {
      const now = performance.now();
      if (now - this.started < afterMs || now - this.lastThrottle < afterMs) return;
      while (this.events.length > 0 && this.events[0]!.t < now - afterMs) this.events.shift();
      const got = this.events.reduce((s, e) => s + e.n, 0);
      if (got < (bytesPerSec * afterMs) / 1000) onStall();
    };
    this.timer = setInterval(check, Math.min(250, Math.max(10, afterMs / 4)));
    this.timer.unref();
  }

  data(n: number): void {
    const t = performance.now();
    const last = this.events.at(-1);
    // 100 ms slots keep the window short however fast the transfer is.
    if (last !== undefined && t - last.t < 100) last.n += n;
    else this.events.push({ t, n });
  }

  throttled(): void {
    this.lastThrottle = performance.now();
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
