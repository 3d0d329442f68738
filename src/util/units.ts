/** Byte sizes ("512MiB", "2GB") and rates ("5MB/s", "40Mbit/s"), as people write them. */

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 2 ** 10,
  mib: 2 ** 20,
  gib: 2 ** 30,
  tib: 2 ** 40,
  k: 2 ** 10,
  m: 2 ** 20,
  g: 2 ** 30,
};

const BIT_UNITS: Record<string, number> = { bit: 1 / 8, kbit: 1e3 / 8, mbit: 1e6 / 8, gbit: 1e9 / 8 };

/** Bytes, or undefined. A bare number is bytes. */
export function parseByteSize(text: string | number): number | undefined {
  if (typeof text === 'number') return Number.isFinite(text) && text >= 0 ? Math.floor(text) : undefined;
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  if (!m) return undefined;
  const unit = m[2]!.toLowerCase() || 'b';
  const f = SIZE_UNITS[unit];
  return f === undefined ? undefined : Math.floor(Number(m[1]) * f);
}

/** Bytes per second, or undefined: "5MB/s", "5MiB/s", "40Mbit/s", "40mbit", or a number of bytes/s. */
export function parseByteRate(text: string | number): number | undefined {
  if (typeof text === 'number') return parseByteSize(text);
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*?)(?:\/s|ps)?\s*$/i.exec(text);
  if (!m) return undefined;
  const unit = m[2]!.toLowerCase();
  const f = BIT_UNITS[unit] ?? SIZE_UNITS[unit || 'b'];
  return f === undefined ? undefined : Math.floor(Number(m[1]) * f);
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 2 : 1).replace(/\.?0+$/, '')} ${units[i]}`;
}

/** The exact size in the largest binary unit that divides it ("256MiB"), else bytes: what parseByteSize reads back. */
export function writeByteSize(n: number): string | number {
  for (const [unit, f] of [
    ['GiB', 2 ** 30],
    ['MiB', 2 ** 20],
    ['KiB', 2 ** 10],
  ] as const)
    if (n !== 0 && n % f === 0) return `${n / f}${unit}`;
  return n;
}
