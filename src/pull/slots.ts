/**
 * A counting semaphore whose waiters are served by priority (highest first, then in
 * arrival order): upstream transfers take their turn largest blob first, whichever
 * order their mirror attempts happened to fail in.
 */
export class Slots {
  private free: number;
  private readonly waiting: { priority: number; grant: () => void }[] = [];

  constructor(count: number) {
    this.free = count;
  }

  /** Resolves with a release function once a slot is free; rejects if `signal` aborts first. */
  acquire(priority: number, signal?: AbortSignal): Promise<() => void> {
    signal?.throwIfAborted();
    return new Promise((resolve, reject) => {
      const waiter = {
        priority,
        grant: () => {
          signal?.removeEventListener('abort', onAbort);
          let released = false;
          resolve(() => {
            if (released) return;
            released = true;
            this.free++;
            this.next();
          });
        },
      };
      const onAbort = () => {
        const i = this.waiting.indexOf(waiter);
        if (i >= 0) this.waiting.splice(i, 1);
        reject(signal!.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const at = this.waiting.findIndex((w) => w.priority < priority);
      this.waiting.splice(at < 0 ? this.waiting.length : at, 0, waiter);
      this.next();
    });
  }

  private next(): void {
    while (this.free > 0 && this.waiting.length > 0) {
      this.free--;
      this.waiting.shift()!.grant();
    }
  }
}
