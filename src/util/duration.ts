/** Go's time.ParseDuration syntax ("200ms", "1h30m", "1.5s"), which Kairos and containerd users know. */

/** Nanoseconds in each unit. */
const UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  µs: 1_000n,
  μs: 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
};

/** Go's time.Duration is an int64 of nanoseconds: containerd refuses anything longer (about 292 years). */
const MAX_NS = 2n ** 63n - 1n;

const TERM = /(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/y;

/**
 * Milliseconds, or undefined when `text` is not a duration. Zero needs no unit, as in Go.
 * Counted as Go counts: in whole nanoseconds (a fraction of one is dropped), at most 2^63 - 1,
 * so that what formatDuration writes back into hosts.toml is what containerd reads.
 */
export function parseDuration(text: string): number | undefined {
  const s = text.trim();
  if (s === '0') return 0;
  if (s === '') return undefined;
  TERM.lastIndex = 0;
  let ns = 0n;
  while (TERM.lastIndex < s.length) {
    const m = TERM.exec(s);
    if (m === null) return undefined;
    const [whole, frac = ''] = m[1]!.split('.') as [string, string?];
    const unit = UNITS[m[2]!]!;
    ns += BigInt(whole || '0') * unit + (frac === '' ? 0n : (BigInt(frac) * unit) / 10n ** BigInt(frac.length));
    if (ns > MAX_NS) return undefined;
  }
  // ns / 1e6 as the nearest double: its decimal text, read by Number().
  return Number(`${ns / 1_000_000n}.${String(ns % 1_000_000n).padStart(6, '0')}`);
}

/** Shortest readable form: 200ms, 30s, 5m, 1h30m. */
export function formatDuration(ms: number): string {
  if (ms < 1000 || ms % 1000 !== 0) return `${ms}ms`;
  let s = ms / 1000;
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s ? `${s}s` : ''}`;
}
