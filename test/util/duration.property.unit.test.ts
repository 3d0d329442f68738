/**
 * Properties of the durations (src/util/duration.ts). The agent reads Go's duration syntax
 * from the cloud-config and from hosts.toml, and writes durations back into hosts.toml
 * (dial_timeout), where containerd reads them with Go's time.ParseDuration: what
 * formatDuration writes must be Go's syntax, within Go's range, and mean the same value.
 *
 * - round trip from values: every duration Go can hold (whole nanoseconds up to 2^63 - 1),
 *   as the milliseconds the agent keeps, is written in Go's syntax and read back the same.
 * - round trip from text: any text of Go duration terms (digits, fractions, every unit, any
 *   size) reads as Go reads it: refused above Go's maximum, else within a nanosecond of its
 *   value; and formatDuration∘parseDuration gives text that reads back the same value.
 * - never a crash: any text gives a non-negative finite number of milliseconds or undefined.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { formatDuration, parseDuration } from '../../src/util/duration.ts';
import { propertyOptions } from '../../testbed/property.ts';

const OPTIONS = propertyOptions(500);

/** Go's time.Duration: int64 nanoseconds. */
const MAX_NS = 2n ** 63n - 1n;
const UNIT_NS: Record<string, bigint> = { ns: 1n, us: 1000n, µs: 1000n, μs: 1000n, ms: 1_000_000n, s: 1_000_000_000n, m: 60_000_000_000n, h: 3_600_000_000_000n };
/** What containerd's ParseDuration takes (without a sign: the agent has no negative durations). */
const GO_SYNTAX = /^(0|((\d+(\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h))+)$/;

/** Milliseconds of `ns` nanoseconds, as the nearest double. */
function msOf(ns: bigint): number {
  const rest = ns % 1_000_000n;
  return Number(`${ns / 1_000_000n}.${String(rest).padStart(6, '0')}`);
}

describe('durations: round trip from values', () => {
  it('every duration Go can hold is written in Go syntax and read back the same', () => {
    const ns = fc.oneof(
      fc.bigInt(0n, MAX_NS),
      // Whole units (the h/m/s form), and small values.
      fc
        .tuple(fc.bigInt(0n, 2_562_047n), fc.constantFrom(...Object.values(UNIT_NS)))
        .map(([n, u]) => n * u)
        .filter((n) => n <= MAX_NS),
      fc.bigInt(0n, 10n ** 12n),
    );
    fc.assert(
      fc.property(ns, (n) => {
        const ms = msOf(n);
        const text = formatDuration(ms);
        expect(text).toMatch(GO_SYNTAX);
        expect(parseDuration(text)).toBe(ms);
      }),
      OPTIONS,
    );
  });
});

interface Term {
  whole: string;
  frac?: string;
  unit: string;
}

const digits = (max: number) => fc.string({ unit: fc.constantFrom(...'0123456789'), maxLength: max });
const term: fc.Arbitrary<Term> = fc
  .record({
    whole: fc.oneof(digits(3), digits(12), digits(25)),
    frac: fc.option(fc.oneof(digits(3), digits(12)), { nil: undefined }),
    unit: fc.constantFrom(...Object.keys(UNIT_NS)),
  })
  .filter((t) => t.whole !== '' || (t.frac ?? '') !== '');

const textOf = (ts: Term[]) => ts.map((t) => `${t.whole}${t.frac === undefined ? '' : `.${t.frac}`}${t.unit}`).join('');
/** The exact value in nanoseconds, fractions of a nanosecond dropped. */
const exactNs = (ts: Term[]) =>
  ts.reduce((sum, t) => {
    const unit = UNIT_NS[t.unit]!;
    const frac = t.frac ? (BigInt(t.frac) * unit) / 10n ** BigInt(t.frac.length) : 0n;
    return sum + BigInt(t.whole || '0') * unit + frac;
  }, 0n);

describe('durations: round trip from text', () => {
  it("reads Go's terms as Go does, and formatDuration∘parseDuration reads back the same", () => {
    fc.assert(
      fc.property(fc.array(term, { minLength: 1, maxLength: 4 }), (ts) => {
        const text = textOf(ts);
        const exact = exactNs(ts);
        // Go computes a fraction in floating point: at its maximum it may differ by a nanosecond.
        fc.pre(exact < MAX_NS - 1n || exact > MAX_NS + 1n);
        const ms = parseDuration(text);
        if (exact > MAX_NS) {
          expect(ms, `${text} is beyond Go's maximum duration`).toBeUndefined();
          return;
        }
        expect(ms, text).toBeTypeOf('number');
        expect(Math.abs(ms! * 1e6 - Number(exact)), text).toBeLessThanOrEqual(1 + Number(exact) * 1e-15);
        const back = formatDuration(ms!);
        expect(back).toMatch(GO_SYNTAX);
        expect(parseDuration(back), `${text} -> ${back}`).toBe(ms);
      }),
      OPTIONS,
    );
  });
});

describe('durations: never a crash', () => {
  const numberOrNothing = (text: string) => {
    const ms = parseDuration(text);
    if (ms !== undefined) expect(Number.isFinite(ms) && ms >= 0, `${JSON.stringify(text)} -> ${ms}`).toBe(true);
  };

  it('any text', () => {
    fc.assert(fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 40, size: 'medium' }), fc.string({ unit: 'grapheme-ascii', maxLength: 40, size: 'medium' })), numberOrNothing), OPTIONS);
  });

  it('text made of the syntax: digits, dots, units, signs, spaces', () => {
    const piece = fc.oneof(digits(30), fc.constantFrom('.', '-', '+', ' ', 'e', 'n', 'u', 'µ', 'μ', 'm', 's', 'h', 'd', '0'));
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12, size: 'medium' }), (ps) => numberOrNothing(ps.join(''))),
      OPTIONS,
    );
  });
});
