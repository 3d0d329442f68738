/**
 * Progress of a pull: a bar on a terminal (bytes, rate, ETA, peers vs upstream), and
 * otherwise one structured log line every few seconds, so journald shows a long
 * download moving without a line per chunk.
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
}

function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds)) return '--';
  if (seconds < 60) return `${Math.ceil(seconds)}s`;
  const m = Math.floor(seconds / 60);
  return m < 60 ? `${m}m${String(Math.ceil(seconds % 60)).padStart(2, '0')}s` : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, '0')}m`;
}

export class Progress {
  private total = 0;
  private done = 0;
  readonly bytes: ByRole = { mirror: 0, upstream: 0 };
  private readonly samples: { t: number; done: number }[] = [];
  private timer: NodeJS.Timeout | undefined;
  private readonly opts: ProgressOptions;
  private label = '';

  constructor(opts: ProgressOptions) {
    this.opts = opts;
  }

  start(label: string, total: number, alreadyDone: number): void {
    this.label = label;
    this.total = total;
    this.done = alreadyDone;
    this.samples.length = 0;
    this.samples.push({ t: performance.now(), done: this.done });
    const every = this.opts.tty ? 200 : (this.opts.logEveryMs ?? 5000);
    this.timer = setInterval(() => this.report(), every);
    this.timer.unref();
  }

  add(role: SourceRole, n: number): void {
    this.done += n;
    this.bytes[role] += n;
  }

  /** Bytes per second over the last ~5 s. */
  private rate(): number {
    const now = performance.now();
    this.samples.push({ t: now, done: this.done });
    while (this.samples.length > 2 && this.samples[0]!.t < now - 5000) this.samples.shift();
    const first = this.samples[0]!;
    const dt = (now - first.t) / 1000;
    return dt > 0 ? (this.done - first.done) / dt : 0;
  }

  private report(): void {
    const rate = this.rate();
    const eta = rate > 0 ? (this.total - this.done) / rate : Infinity;
    const got = this.bytes.mirror + this.bytes.upstream;
    const peers = got > 0 ? Math.round((this.bytes.mirror / got) * 100) : 0;
    if (this.opts.tty) {
      const width = 24;
      const frac = this.total > 0 ? Math.min(1, this.done / this.total) : 1;
      const bar = '='.repeat(Math.floor(frac * width)).padEnd(width, ' ');
      const line = `${this.label} [${bar}] ${formatBytes(this.done)}/${formatBytes(this.total)} ${formatBytes(rate)}/s ETA ${formatEta(eta)} peers ${peers}% upstream ${got > 0 ? 100 - peers : 0}%`;
      this.opts.tty.write(`\r\x1b[K${line.slice(0, (this.opts.tty.columns || 120) - 1)}`);
    } else {
      this.opts.log.info(
        {
          done: this.done,
          total: this.total,
          percent: this.total > 0 ? Math.floor((this.done / this.total) * 100) : 100,
          bytes_per_sec: Math.round(rate),
          eta_s: Number.isFinite(eta) ? Math.ceil(eta) : null,
          from_mirror: this.bytes.mirror,
          from_upstream: this.bytes.upstream,
        },
        'pulling',
      );
    }
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.opts.tty) this.opts.tty.write('\r\x1b[K');
  }
}
