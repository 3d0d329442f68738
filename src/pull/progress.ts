/**
 * Progress of a pull: a bar on a terminal (bytes, rate, ETA, peers vs upstream), and
 * otherwise one structured log line every few seconds, so journald shows a long
 * download moving without a line per chunk. Bytes an earlier run left (committed blobs,
 * partial downloads) count as done from the start, but the rate and the ETA come only
 * from what this run receives, so a resumed pull neither starts at 0% nor boasts a rate.
 */
import { formatBytes } from '../util/units.ts';
import type { Logger } from '../log/logger.ts';
import type { ByRole } from '../store/transfer-stats.ts';
import type { SourceRole } from '../registry/source.ts';

export interface ProgressOptions {
  /** Draw a bar on this stream (a TTY); otherwise log. */
  tty?: NodeJS.WriteStream;
  log: Logger;
  logEveryMs?: number;
  /** Epoch ms from which `--upstream after D` lets the upstream be used: the bar counts down to it. */
  upstreamOpensAt?: number;
  /** Milliseconds, monotonic (tests pass their own). */
  clock?: () => number;
}

/** What one render shows. */
export interface ProgressView {
  label: string;
  /** Undefined until the manifests say how big the image is. */
  total?: number;
  done: number;
  /** Bytes per second received by this run. */
  rate: number;
  bytes: ByRole;
  /** Milliseconds until the upstream may be used; undefined when it may be (or never will). */
  upstreamInMs?: number;
}

export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--';
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  const m = Math.floor(seconds / 60);
  return m < 60 ? `${m}m${String(Math.floor(seconds % 60)).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

/** "upstream in 4m12s": how long the pull keeps waiting for the peers before the upstream may be used. */
export function formatCountdown(ms: number): string {
  return `upstream in ${formatEta(Math.max(0, ms) / 1000)}`;
}

/** Bytes without the space ("5.2MiB"): a progress line has no columns to spare. */
function compactBytes(n: number): string {
  return formatBytes(n).replace(' ', '');
}

/** "1.5/7MiB" when both share a unit, else "512KiB/7MiB". */
function formatDoneTotal(done: number, total: number): string {
  const d = formatBytes(done).split(' ');
  const t = formatBytes(total).split(' ');
  return d[1] === t[1] ? `${d[0]}/${t.join('')}` : `${d.join('')}/${t.join('')}`;
}

function splitText(bytes: ByRole): string {
  const got = bytes.mirror + bytes.upstream;
  const peers = got > 0 ? Math.round((bytes.mirror / got) * 100) : 0;
  return `peers ${peers}% upstream ${got > 0 ? 100 - peers : 0}%`;
}

/** `text` in at most `width` columns: the end kept (the repository and tag of an image), an ellipsis in front. */
function shorten(text: string, width: number): string {
  if (text.length <= width) return text;
  return width <= 1 ? '…'.slice(0, width) : `…${text.slice(text.length - (width - 1))}`;
}

const BAR_MAX = 30;
const BAR_MIN = 5;
const LABEL_MIN = 8;

/**
 * One progress line in fewer than `columns` columns (the last column would wrap on some
 * terminals). What must stay comes first: percentage, done/total, rate, ETA and the
 * peers/upstream split (with the countdown while the upstream is closed). The bar shrinks
 * and then goes, the label is shortened and then goes; only then do the rate, the split and
 * the bytes go, in that order.
 */
export function layoutProgressLine(v: ProgressView, columns: number): string {
  const width = Math.max(1, columns - 1);
  const countdown = v.upstreamInMs !== undefined ? formatCountdown(v.upstreamInMs) : undefined;
  const frac = v.total === undefined ? 0 : v.total > 0 ? Math.min(1, v.done / v.total) : 1;
  // Each variant with the room it needs beside it for the label and the bar.
  let variants: { parts: string[]; room: number }[];
  if (v.total === undefined) {
    // Before the manifests: nothing to measure yet, only the wait.
    variants = [
      { parts: [countdown ? `waiting for the peers, ${countdown}` : 'resolving'], room: 0 },
      { parts: [countdown ?? 'resolving'], room: 0 },
    ];
  } else {
    const pct = `${Math.floor(frac * 100)}%`;
    const bytes = formatDoneTotal(v.done, v.total);
    const rate = `${compactBytes(Math.round(v.rate))}/s`;
    const eta = `ETA ${formatEta(v.rate > 0 ? (v.total - v.done) / v.rate : Infinity)}`;
    const split = splitText(v.bytes);
    const full = [pct, bytes, rate, eta, split];
    variants = [
      // While the peers serve, the countdown is a nicety: it never pushes out the label or the bar.
      ...(countdown ? [{ parts: [...full, countdown], room: LABEL_MIN + BAR_MIN + 4 }] : []),
      ...[full, [pct, bytes, eta, split], [pct, bytes, eta], [pct, eta]].map((parts) => ({ parts, room: 0 })),
    ];
  }
  for (const { parts, room: needs } of variants) {
    const tail = parts.join(' ');
    const room = width - tail.length;
    if (room < needs) continue;
    // Label and bar share the room left, each followed by a space: the bar first shrinks to its
    // minimum while the label stays whole, then the label is shortened, then the bar goes.
    const labelWant = Math.min(v.label.length, LABEL_MIN) + 1;
    const bar = v.total !== undefined && room - BAR_MIN - 3 >= labelWant ? Math.min(BAR_MAX, Math.max(BAR_MIN, room - v.label.length - 4)) : 0;
    const labelRoom = room - (bar > 0 ? bar + 3 : 0) - 1;
    const label = labelRoom >= labelWant - 1 && labelRoom > 0 ? `${shorten(v.label, labelRoom)} ` : '';
    const barText = bar > 0 ? `[${'='.repeat(Math.floor(frac * bar)).padEnd(bar, ' ')}] ` : '';
    return `${label}${barText}${tail}`;
  }
  return variants.at(-1)!.parts.join(' ').slice(0, width);
}

export interface ProgressSnapshot {
  total?: number;
  done: number;
  bytes: ByRole;
}

export class Progress {
  private total: number | undefined;
  private done = 0;
  /** Bytes this run received: the only base of the rate. */
  private received = 0;
  readonly bytes: ByRole = { mirror: 0, upstream: 0 };
  private readonly samples: { t: number; received: number }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly opts: ProgressOptions;
  private readonly clock: () => number;
  private label = '';
  private readonly onResize = () => this.render();

  constructor(opts: ProgressOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? (() => performance.now());
  }

  /** Before the image's size is known: on a terminal, the countdown to the upstream while waiting for the peers. */
  begin(label: string): void {
    this.label = label;
    if (this.opts.tty && this.opts.upstreamOpensAt !== undefined) this.tick(200);
  }

  /** `alreadyDone`: what the store and the partial downloads already hold. */
  start(label: string, total: number, alreadyDone: number): void {
    this.label = label;
    this.total = total;
    this.done = alreadyDone;
    this.samples.length = 0;
    this.samples.push({ t: this.clock(), received: this.received });
    this.tick(this.opts.tty ? 200 : (this.opts.logEveryMs ?? 5000));
  }

  private tick(every: number): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = setInterval(() => this.report(), every);
    this.timer.unref();
    // Columns are read at each render; a resize redraws at once instead of leaving a wrapped line.
    this.opts.tty?.off('resize', this.onResize).on('resize', this.onResize);
  }

  add(role: SourceRole, n: number): void {
    this.done += n;
    this.received += n;
    this.bytes[role] += n;
  }

  /** Bytes thrown away (they did not hash right, or an earlier run's partial file was bad): no longer done. */
  discard(n: number): void {
    this.done = Math.max(0, this.done - n);
  }

  snapshot(): ProgressSnapshot {
    return { ...(this.total !== undefined ? { total: this.total } : {}), done: this.done, bytes: { ...this.bytes } };
  }

  /** Bytes per second received over the last ~5 s. */
  rate(): number {
    const now = this.clock();
    this.samples.push({ t: now, received: this.received });
    while (this.samples.length > 2 && this.samples[0]!.t < now - 5000) this.samples.shift();
    const first = this.samples[0]!;
    const dt = (now - first.t) / 1000;
    return dt > 0 ? (this.received - first.received) / dt : 0;
  }

  view(): ProgressView {
    const opens = this.opts.upstreamOpensAt;
    const left = opens !== undefined ? opens - Date.now() : 0;
    return {
      label: this.label,
      ...(this.total !== undefined ? { total: this.total } : {}),
      done: this.done,
      rate: this.total !== undefined ? this.rate() : 0,
      bytes: this.bytes,
      ...(left > 0 ? { upstreamInMs: left } : {}),
    };
  }

  private render(): void {
    if (!this.opts.tty || !this.timer) return;
    this.opts.tty.write(`\r\x1b[K${layoutProgressLine(this.view(), this.opts.tty.columns || 80)}`);
  }

  private report(): void {
    if (this.opts.tty) return this.render();
    const v = this.view();
    const total = v.total ?? 0;
    const eta = v.rate > 0 ? (total - v.done) / v.rate : Infinity;
    this.opts.log.info(
      {
        done: v.done,
        total,
        percent: total > 0 ? Math.floor((v.done / total) * 100) : 100,
        bytes_per_sec: Math.round(v.rate),
        eta_s: Number.isFinite(eta) ? Math.ceil(eta) : null,
        from_mirror: v.bytes.mirror,
        from_upstream: v.bytes.upstream,
      },
      'pulling',
    );
  }

  stop(): void {
    if (!this.timer) return;
    clearInterval(this.timer);
    this.timer = undefined;
    if (this.opts.tty) {
      this.opts.tty.off('resize', this.onResize);
      this.opts.tty.write('\r\x1b[K');
    }
  }
}
