/**
 * Properties of the WWW-Authenticate parser (src/registry/auth/challenge.ts), which reads what
 * any registry (or anything posing as one) answers before the agent asks a token server:
 *
 * - round trip: challenges generated as scheme and auth-params, written out as RFC 9110
 *   §11.6.1 allows (params as tokens or quoted strings with escapes, optional whitespace
 *   around "=" and after commas, any case), are read back: schemes and param names in lower
 *   case, values unescaped.
 * - never a crash: any header text gives a list of challenges, each a lower-case token scheme
 *   with string params, and never throws.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseChallenges, type Challenge } from '../../src/registry/auth/challenge.ts';
import { propertyOptions } from '../../testbed/property.ts';

const OPTIONS = propertyOptions(300);

const TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const token = fc.string({ unit: fc.constantFrom(...TCHAR), minLength: 1, maxLength: 12 });
/** qdtext and quoted-pair: HTAB, SP, visible ASCII and obs-text (a header is latin1 text). */
const quotable = fc.string({
  unit: fc.oneof(
    fc.constantFrom('\t', ' ', '"', '\\'),
    fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)),
    fc.integer({ min: 0x80, max: 0xff }).map((c) => String.fromCharCode(c)),
  ),
  maxLength: 30,
});
const ows = fc.constantFrom('', ' ', '\t', '  ');

interface Param {
  name: string;
  value: string;
  /** Written as a token (when the value is one) or as a quoted string. */
  quoted: boolean;
  before: string;
  after: string;
}
interface Written {
  scheme: string;
  params: Param[];
}

const param = fc.record({ name: token, value: fc.oneof(token, quotable), quoted: fc.boolean(), before: ows, after: ows });
const challenge = fc.record({
  scheme: token,
  // Param names are case-insensitive: one of each.
  params: fc.uniqueArray(param, { maxLength: 4, selector: (p) => p.name.toLowerCase() }),
});

const isToken = (v: string) => v.length > 0 && [...v].every((c) => TCHAR.includes(c));
const quote = (v: string) => `"${v.replace(/[\\"]/g, (c) => `\\${c}`)}"`;

function header(cs: Written[], separators: string[]): string {
  return cs
    .map((c) => {
      const params = c.params.map((p) => `${p.name}${p.before}=${p.after}${p.quoted || !isToken(p.value) ? quote(p.value) : p.value}`);
      return params.length === 0 ? c.scheme : `${c.scheme} ${params.join(',' + (separators[0] ?? ' '))}`;
    })
    .join(`,${separators[1] ?? ' '}`);
}

function expected(cs: Written[]): Challenge[] {
  return cs.map((c) => ({ scheme: c.scheme.toLowerCase(), params: Object.fromEntries(c.params.map((p) => [p.name.toLowerCase(), p.value])) }));
}

describe('WWW-Authenticate: round trip', () => {
  it('reads back generated challenges, whatever the case, quoting and optional whitespace', () => {
    fc.assert(
      fc.property(fc.array(challenge, { minLength: 1, maxLength: 4 }), fc.tuple(ows, ows), (cs, separators) => {
        expect(parseChallenges(header(cs, separators))).toEqual(expected(cs));
      }),
      OPTIONS,
    );
  });
});

describe('WWW-Authenticate: never a crash', () => {
  const wellFormed = (out: Challenge[]) => {
    for (const c of out) {
      expect(c.scheme).toMatch(/^[!#$%&'*+\-.^_`|~0-9a-z]+$/);
      for (const [k, v] of Object.entries(c.params)) {
        expect(k).toMatch(/^[!#$%&'*+\-.^_`|~0-9a-z]+$/);
        expect(typeof v).toBe('string');
      }
    }
  };

  it('any text', () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 200, size: 'medium' }), fc.string({ unit: 'grapheme-ascii', maxLength: 200, size: 'medium' })), (text) =>
        wellFormed(parseChallenges(text)),
      ),
      OPTIONS,
    );
  });

  it('text made of the syntax: tokens, quotes, escapes, commas, "=", whitespace', () => {
    const piece = fc.oneof(token, fc.constantFrom('"', '\\', ',', '=', ' ', '\t', '\n', ', ', '="', '\\"'), quotable);
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 30, size: 'medium' }), (pieces) => wellFormed(parseChallenges(pieces.join('')))),
      OPTIONS,
    );
  });
});
