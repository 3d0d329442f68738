/**
 * Properties of the TOML block splitter (src/hosts/toml-blocks.ts), with which the agent
 * edits a user's hosts.toml: it keeps the user's tables byte for byte and adds or replaces
 * its own, so the split must find exactly the table headers of the document, never a line
 * inside a multi-line string or array, and joining the blocks must give the document back.
 *
 * - round trip: generated documents (tables and arrays of tables with bare, quoted and
 *   bracketed keys, comments above headers and after values, basic, literal and multi-line
 *   strings whose lines look like headers or comments, nested multi-line arrays, inline
 *   tables), written with one blank line between tables, split then joined are the same text;
 *   written with any blank lines, they are the same TOML, with the same non-blank lines in
 *   the same order; either way the blocks are the document's tables, in order.
 * - never a crash: any text that parseToml accepts (the splitter's contract: validate first)
 *   splits without throwing, and text it refuses is refused with a ConfigError.
 */
import TOML from '@iarna/toml';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.ts';
import { joinToml, parseToml, splitToml, type TomlText } from '../../src/hosts/toml-blocks.ts';
import { propertyOptions } from '../../testbed/property.ts';

const OPTIONS = propertyOptions(200);

// ---- a TOML writer ------------------------------------------------------------------

/** Characters that matter to a line scanner: quotes, brackets, braces, '#', '=', backslash. */
const tricky = fc.constantFrom('"', "'", '[', ']', '{', '}', '#', '=', '\\', ' ', '\t', ',', '.', 'a', 'Z', '0', 'é', '🙂');
const text = (max: number) => fc.string({ unit: tricky, maxLength: max });
/** Text with line breaks, whose lines may start like a header or a comment. */
const lines = fc
  .array(
    fc.oneof(
      text(12),
      text(8).map((t) => `[${t}`),
      text(8).map((t) => `#${t}`),
      fc.constant(''),
    ),
    { minLength: 1, maxLength: 4 },
  )
  .map((ls) => ls.join('\n'));

function basic(s: string): string {
  return `"${s.replace(/[\\"\u0000-\u001f\u007f]/g, (c) => (c === '"' ? '\\"' : c === '\\' ? '\\\\' : `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`))}"`;
}

/** A multi-line basic string with quotes left raw where TOML allows (runs of one or two, also before the closing quotes). */
function mlBasic(s: string, newlineAfterOpening: boolean): string {
  let out = '';
  let run = 0;
  for (const c of s) {
    if (c === '"') {
      if (run === 2) {
        out += '\\"';
        run = 0;
      } else {
        out += '"';
        run++;
      }
      continue;
    }
    run = 0;
    out += c === '\\' ? '\\\\' : c === '\n' || c === '\t' ? c : /[\u0000-\u001f\u007f]/.test(c) ? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}` : c;
  }
  return `"""${newlineAfterOpening ? '\n' : ''}${out}"""`;
}

const key = fc.oneof(
  fc.stringMatching(/^[A-Za-z0-9_-]{1,8}$/),
  text(10).map(basic),
  text(10)
    .filter((t) => !t.includes("'"))
    .map((t) => `'${t}'`),
);

const comment = text(15).map((t) => `#${t}`);

const scalar: fc.Arbitrary<string> = fc.oneof(
  fc.integer().map(String),
  fc.boolean().map(String),
  text(15).map(basic),
  text(15)
    .filter((t) => !t.includes("'"))
    .map((t) => `'${t}'`),
  fc.tuple(lines, fc.boolean()).map(([s, nl]) => mlBasic(s, nl)),
  // A multi-line literal string: no escapes; any run of quotes but three.
  fc
    .tuple(lines, fc.boolean(), fc.constantFrom('', "'", "''"))
    .filter(([s]) => !s.includes("'''") && !s.endsWith("'"))
    .map(([s, nl, q]) => `'''${nl ? '\n' : ''}${s}${q}'''`),
);

const value: fc.Arbitrary<string> = fc.letrec<{ value: string; array: string; inline: string }>((tie) => ({
  value: fc.oneof({ depthSize: 'small', withCrossShrink: true }, scalar, tie('array'), tie('inline')),
  array: fc.oneof(
    fc.array(tie('value'), { maxLength: 3 }).map((vs) => `[${vs.join(', ')}]`),
    // One element a line, comments after the commas, maybe a trailing comma.
    fc
      .tuple(fc.array(fc.tuple(tie('value'), fc.option(comment, { nil: undefined })), { minLength: 1, maxLength: 3 }), fc.boolean())
      .map(([vs, trailing]) => `[\n${vs.map(([v, c], i) => `  ${v}${i < vs.length - 1 || trailing ? ',' : ''}${c ? ` ${c}` : ''}`).join('\n')}\n]`),
  ),
  inline: fc.uniqueArray(fc.tuple(fc.stringMatching(/^[a-z]{1,5}$/), scalar), { maxLength: 3, selector: ([k]) => k }).map((kvs) => `{${kvs.map(([k, v]) => ` ${k} = ${v}`).join(',')} }`),
})).value;

interface Item {
  /** Lines of the item: a key = value (possibly over several lines), or a comment line. */
  lines: string;
  /** Blank lines after it when the document is written loosely. */
  blanksAfter: number;
}

const item = (keyPrefix: string) =>
  fc
    .oneof(
      { arbitrary: fc.tuple(key, value, fc.option(comment, { nil: undefined }), fc.constantFrom('', '  ')).map(([k, v, c, indent]) => `${indent}${k} = ${v}${c ? ` ${c}` : ''}`), weight: 4 },
      { arbitrary: fc.tuple(fc.constantFrom('', '  '), comment).map(([indent, c]) => `${indent}${c}`), weight: 1 },
    )
    .chain((l) => fc.record({ lines: fc.constant(l), blanksAfter: fc.nat(2) }))
    .map((it) => ({ ...it, keyPrefix }));

interface Table {
  path: string[];
  header: string;
  comments: string[];
  items: Item[];
}

/** Keys in one table must differ: each item's key is made unique by a prefix. */
function uniqueKeys(items: (Item & { keyPrefix: string })[]): Item[] {
  return items.map((it, i) => (/^\s*#/.test(it.lines) ? it : { ...it, lines: it.lines.replace(/^(\s*)/, `$1k${i}${it.keyPrefix}.`) }));
}

const part = fc.oneof(
  fc.stringMatching(/^[a-z][a-z0-9_-]{0,6}$/).map((k) => ({ raw: k, name: k })),
  text(10).map((t) => ({ raw: basic(t), name: t })),
);

const table = (i: number): fc.Arbitrary<Table> =>
  fc
    .record({
      // The first key is the table's own (t0, t1, ...): no two tables are the same or clash.
      sub: fc.array(part, { maxLength: 2 }),
      array: fc.boolean(),
      spaced: fc.boolean(),
      trailing: fc.option(comment, { nil: undefined }),
      comments: fc.array(comment, { maxLength: 2 }),
      items: fc.array(item(''), { maxLength: 4 }),
    })
    .map(({ sub, array, spaced, trailing, comments, items }) => {
      const parts = [{ raw: `t${i}`, name: `t${i}` }, ...sub];
      const s = spaced ? ' ' : '';
      const path = `${s}${parts.map((p) => p.raw).join(`${s}.${s}`)}${s}`;
      const header = `${array ? `[[${path}]]` : `[${path}]`}${trailing ? ` ${trailing}` : ''}`;
      return { path: parts.map((p) => p.name), header, comments, items: uniqueKeys(items.map((it) => ({ ...it, keyPrefix: '' }))) };
    });

interface Doc {
  preamble: Item[];
  tables: Table[];
}

const doc: fc.Arbitrary<Doc> = fc
  .record({ preamble: fc.array(item(''), { maxLength: 3 }), n: fc.nat(4) })
  .chain(({ preamble, n }) => fc.tuple(fc.constant(preamble), fc.tuple(...Array.from({ length: n }, (_, i) => table(i)))))
  .map(([preamble, tables]) => ({ preamble: uniqueKeys(preamble.map((it) => ({ ...it, keyPrefix: 'p' }))), tables }))
  .filter((d) => d.preamble.length > 0 || d.tables.length > 0);

/** Lines of the items; `loose`: with each item's blank lines after it. */
const itemLines = (items: Item[], loose: boolean) => items.flatMap((it) => [it.lines, ...(loose ? Array<string>(it.blanksAfter).fill('') : [])]);

/** The document with one blank line between its sections and none at their ends: what joinToml writes. */
function canonical(d: Doc): string {
  const trim = (ls: string[]) => {
    while (ls.length > 0 && ls[ls.length - 1]!.trim() === '') ls.pop();
    return ls;
  };
  const sections = [trim(itemLines(d.preamble, false)), ...d.tables.map((t) => trim([...t.comments, t.header, ...itemLines(t.items, false)]))];
  return `${sections
    .filter((s) => s.length > 0)
    .map((s) => s.join('\n'))
    .join('\n\n')}\n`;
}

/** The document with any blank lines: after items, between sections, at the start and end. */
function loose(d: Doc, gaps: number[], lead: number, tail: number): string {
  const out: string[] = [...Array<string>(lead).fill(''), ...itemLines(d.preamble, true)];
  d.tables.forEach((t, i) => out.push(...Array<string>(gaps[i] ?? 1).fill(''), ...t.comments, t.header, ...itemLines(t.items, true)));
  return `${[...out, ...Array<string>(tail).fill('')].join('\n')}\n`;
}

const joined = (t: TomlText) => joinToml([t.preamble, ...t.blocks.map((b) => b.lines)]);
const nonBlank = (s: string) => s.split('\n').filter((l) => l.trim() !== '');
const parses = (s: string) => {
  try {
    TOML.parse(s);
    return true;
  } catch {
    return false;
  }
};

// ---- properties ---------------------------------------------------------------------

describe('TOML blocks: round trip', () => {
  it('a document written as joinToml writes it: split then joined is the same text; the blocks are its tables', () => {
    fc.assert(
      fc.property(doc, (d) => {
        const t = canonical(d);
        fc.pre(parses(t));
        const split = splitToml(t);
        expect(split.blocks.map((b) => b.path)).toEqual(d.tables.map((x) => x.path));
        expect(joined(split)).toBe(t);
      }),
      OPTIONS,
    );
  });

  it('a document with any blank lines: split then joined is the same TOML, its lines in the same order; the blocks are its tables', () => {
    fc.assert(
      fc.property(doc, fc.array(fc.nat(2), { minLength: 4, maxLength: 4 }), fc.nat(1), fc.nat(2), (d, gaps, lead, tail) => {
        const t = loose(d, gaps, lead, tail);
        fc.pre(parses(t));
        const split = splitToml(t);
        expect(split.blocks.map((b) => b.path)).toEqual(d.tables.map((x) => x.path));
        const back = joined(split);
        expect(nonBlank(back)).toEqual(nonBlank(t));
        expect(TOML.parse(back)).toEqual(TOML.parse(t));
      }),
      OPTIONS,
    );
  });
});

describe('TOML blocks: never a crash', () => {
  /** parseToml's answer: valid text splits without throwing; anything else is a ConfigError. */
  const validatedThenSplit = (t: string) => {
    let valid = true;
    try {
      parseToml(t, '/etc/containerd/certs.d/_default/hosts.toml');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      valid = false;
    }
    if (valid) splitToml(t);
  };

  it('any text', () => {
    fc.assert(fc.property(fc.oneof(fc.string({ unit: 'binary', maxLength: 200, size: 'medium' }), fc.string({ unit: 'grapheme-ascii', maxLength: 200, size: 'medium' })), validatedThenSplit), OPTIONS);
  });

  it('documents with lines dropped, repeated or swapped', () => {
    const edit = fc.record({ op: fc.constantFrom('drop', 'repeat', 'swap'), at: fc.nat(), to: fc.nat() });
    fc.assert(
      fc.property(doc, fc.array(edit, { minLength: 1, maxLength: 3 }), (d, edits) => {
        const ls = canonical(d).split('\n');
        for (const e of edits) {
          const i = e.at % ls.length;
          const j = e.to % ls.length;
          if (e.op === 'drop') ls.splice(i, 1);
          else if (e.op === 'repeat') ls.splice(i, 0, ls[i]!);
          else [ls[i], ls[j]] = [ls[j]!, ls[i]!];
          if (ls.length === 0) ls.push('');
        }
        validatedThenSplit(ls.join('\n'));
      }),
      OPTIONS,
    );
  });
});
