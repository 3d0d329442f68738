/** Upstream turns: at most N at once, the largest waiting blob next, a cancelled wait gives up its place. */
import { describe, expect, it } from 'vitest';
import { Slots } from '../../src/pull/slots.ts';

const tick = () => new Promise((r) => setImmediate(r));

describe('Slots', () => {
  it('grants at most N at once, then the highest priority waiting', async () => {
    const slots = new Slots(1);
    const order: number[] = [];
    const first = await slots.acquire(10);
    const waits = [3, 50, 7].map((p) =>
      slots.acquire(p).then((release) => {
        order.push(p);
        setImmediate(release);
      }),
    );
    await tick();
    expect(order).toEqual([]);
    first();
    await Promise.all(waits);
    expect(order).toEqual([50, 7, 3]);
  });

  it('a release twice frees one slot only', async () => {
    const slots = new Slots(1);
    const release = await slots.acquire(1);
    release();
    release();
    await slots.acquire(1);
    let second = false;
    void slots.acquire(1).then(() => (second = true));
    await tick();
    expect(second).toBe(false);
  });

  it('an aborted wait rejects with the reason and leaves the queue', async () => {
    const slots = new Slots(1);
    const release = await slots.acquire(1);
    const ac = new AbortController();
    const cancelled = slots.acquire(100, ac.signal);
    let other = false;
    const next = slots.acquire(1).then((r) => ((other = true), r));
    ac.abort(new Error('stopped'));
    await expect(cancelled).rejects.toThrow('stopped');
    release();
    await next;
    expect(other).toBe(true);
  });
});
