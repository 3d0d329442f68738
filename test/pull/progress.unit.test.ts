/** The progress line's layout at terminal widths, resumed bytes, and the countdown to the upstream. */
import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { formatCountdown, layoutProgressLine, Progress, type ProgressView } from '../../src/pull/progress.ts';
import { createLogger } from '../../src/log/logger.ts';

const MiB = 1024 * 1024;
const view: ProgressView = {
  label: '127.0.0.1:41234/kairos/progress:v1',
  total: 1400 * MiB,
  done: 356 * MiB,
  rate: 5.2 * MiB,
  bytes: { mirror: 200 * MiB, upstream: 156 * MiB },
};
// (1400 - 356) / 5.2 s
const ETA = 'ETA 3m20s';
const SPLIT = 'peers 56% upstream 44%';

describe('layoutProgressLine', () => {
  it.each([200, 80])('at %i columns: percentage, bytes, rate, ETA and the split stay, within the width', (columns) => {
    const line = layoutProgressLine(view, columns);
    expect(line.length).toBeLessThan(columns);
    for (const part of ['25%', '356MiB/1.37GiB', '5.2MiB/s', ETA, SPLIT]) expect(line).toContain(part);
  });

  it('at 200 columns: the whole label and the widest bar', () => {
    const line = layoutProgressLine(view, 200);
    expect(line.startsWith(`${view.label} [=======                       ] `)).toBe(true);
  });

  it('at 80 columns: a shrunk bar, and the label shortened at its front', () => {
    expect(layoutProgressLine(view, 80)).toBe(`…ogress:v1 [=    ] 25% 356MiB/1.37GiB 5.2MiB/s ${ETA} ${SPLIT}`);
  });

  it('at 60 columns: no bar and no label; then the rate goes', () => {
    expect(layoutProgressLine(view, 60)).toBe(`25% 356MiB/1.37GiB ${ETA} ${SPLIT}`);
  });

  it('at 40 columns: the percentage, bytes and ETA, with what fits of the label', () => {
    expect(layoutProgressLine(view, 40)).toBe(`…ogress:v1 25% 356MiB/1.37GiB ${ETA}`);
  });

  it('at 20 columns: the percentage and the ETA', () => {
    expect(layoutProgressLine(view, 20)).toBe(`25% ${ETA}`);
  });

  it('before the image size is known: the wait for the peers and the countdown', () => {
    expect(layoutProgressLine({ ...view, total: undefined, upstreamInMs: 252_000 }, 80)).toBe(`${view.label} waiting for the peers, upstream in 4m12s`);
    expect(layoutProgressLine({ ...view, total: undefined, upstreamInMs: 252_000 }, 30)).toBe('…rogress:v1 upstream in 4m12s');
  });

  it('while the upstream is closed, the countdown is shown when it fits, after what must stay', () => {
    expect(layoutProgressLine({ ...view, upstreamInMs: 252_000 }, 200)).toMatch(new RegExp(`${ETA} ${SPLIT} upstream in 4m12s$`));
    expect(layoutProgressLine({ ...view, upstreamInMs: 252_000 }, 80)).toBe(layoutProgressLine(view, 80));
  });
});

describe('formatCountdown', () => {
  it.each([
    [252_000, 'upstream in 4m12s'],
    [59_500, 'upstream in 60s'],
    [3_600_000 * 2 + 60_000 * 5, 'upstream in 2h05m'],
    [-5, 'upstream in 0s'],
  ])('%i ms: %s', (ms, text) => expect(formatCountdown(ms)).toBe(text));
});

describe('Progress after a resume', () => {
  it('starts from the bytes already there, and takes the rate and ETA from this run alone', () => {
    let now = 0;
    const p = new Progress({ log: createLogger({ level: 'silent', pretty: false }), clock: () => now });
    p.start('img', 100 * MiB, 60 * MiB); // committed blobs and partial files of an earlier run
    expect(p.view()).toMatchObject({ done: 60 * MiB, total: 100 * MiB, rate: 0 });
    now = 2000;
    p.add('mirror', 8 * MiB);
    p.add('upstream', 2 * MiB);
    const v = p.view();
    expect(v.done).toBe(70 * MiB);
    expect(v.rate).toBe(5 * MiB); // 10 MiB in 2 s; the 60 MiB already there are not a rate
    expect(layoutProgressLine(v, 200)).toContain('] 70% 70/100MiB 5MiB/s ETA 6s peers 80% upstream 20%');
  });

  it('bytes thrown away are no longer done', () => {
    const p = new Progress({ log: createLogger({ level: 'silent', pretty: false }), clock: () => 0 });
    p.start('img', 100, 40);
    p.add('mirror', 30);
    p.discard(50);
    expect(p.snapshot().done).toBe(20);
  });
});

describe('Progress on a terminal', () => {
  it('redraws for the new width when the terminal is resized', () => {
    const tty = Object.assign(new EventEmitter(), { columns: 200, written: [] as string[], write: (s: string) => tty.written.push(s) });
    const p = new Progress({ log: createLogger({ level: 'silent', pretty: false }), tty: tty as unknown as NodeJS.WriteStream, clock: () => 0 });
    p.start(view.label, view.total!, view.done);
    tty.columns = 40;
    tty.emit('resize');
    const line = tty.written.at(-1)!.replace('\r\x1b[K', '');
    expect(line.length).toBeLessThan(40);
    expect(line).toMatch(/25% 356MiB\/1.37GiB ETA --$/);
    p.stop();
    expect(tty.listenerCount('resize')).toBe(0);
  });
});
