/**
 * A small declarative validator for located YAML trees. A schema turns untrusted
 * configuration into typed values in one pass and collects every problem with its
 * file, line, key path and what was expected, instead of stopping at the first.
 */
import { isIP } from 'node:net';
import path from 'node:path';
import type { ConfigProblem } from '../errors.ts';
import { formatDuration, parseDuration } from '../util/duration.ts';
import { parseByteRate, parseByteSize, writeByteSize } from '../util/units.ts';
import { nearest } from './suggest.ts';
import { describeNode, type YNode } from './yaml-tree.ts';

export const INVALID: unique symbol = Symbol('invalid');
type Invalid = typeof INVALID;

export type Parser<T> = (node: YNode, key: string, problems: ConfigProblem[]) => T | Invalid;

/** A parser whose values have a written form that it reads back (30000 ms: "30s"): how `config` shows a default. */
export type Writable<T> = Parser<T> & { write: (value: T) => string | number };

export function writable<T>(parse: Parser<T>, write: (value: T) => string | number): Writable<T> {
  return Object.assign(parse, { write });
}

export interface Field<T> {
  parse: Parser<T>;
  /** Value when the key is absent or null. */
  fallback: () => T;
}

export function field<T>(parse: Parser<T>, fallback: T | (() => T)): Field<T> {
  return { parse, fallback: typeof fallback === 'function' ? (fallback as () => T) : () => fallback };
}

export function optional<T>(parse: Parser<T>): Field<T | undefined> {
  return { parse, fallback: () => undefined };
}

export type Shape<F> = { [K in keyof F]: F[K] extends Field<infer T> ? T : never };

function problem(problems: ConfigProblem[], node: YNode, key: string, expected: string): Invalid {
  problems.push({ at: node.loc, key, message: `expected ${expected}, got ${describeNode(node)}` });
  return INVALID;
}

export function object<F extends Record<string, Field<unknown>>>(fields: F): Parser<Shape<F>> & { fields: F } {
  const parse = (node: YNode, key: string, problems: ConfigProblem[]): Shape<F> | Invalid => {
    const isNull = node.kind === 'scalar' && node.value === null;
    if (node.kind !== 'map' && !isNull) return problem(problems, node, key, 'a mapping of settings');
    const known = Object.keys(fields);
    const out: Record<string, unknown> = {};
    let bad = false;
    if (node.kind === 'map') {
      for (const [k, entry] of node.entries) {
        if (!known.includes(k)) {
          const guess = nearest(k, known);
          problems.push({
            at: entry.keyLoc,
            key: `${key}.${k}`,
            message: `unknown key${guess ? `; did you mean "${guess}"?` : `; valid keys are: ${known.join(', ')}`}`,
          });
          bad = true;
        }
      }
    }
    for (const [k, f] of Object.entries(fields)) {
      const entry = node.kind === 'map' ? node.entries.get(k) : undefined;
      const present = entry !== undefined && !(entry.value.kind === 'scalar' && entry.value.value === null);
      const value = present ? f.parse(entry.value, `${key}.${k}`, problems) : f.fallback();
      if (value === INVALID) bad = true;
      else out[k] = value;
    }
    return bad ? INVALID : (out as Shape<F>);
  };
  return Object.assign(parse, { fields });
}

export const string: Parser<string> = (node, key, problems) =>
  node.kind === 'scalar' && typeof node.value === 'string' && node.value !== '' ? node.value : problem(problems, node, key, 'a non-empty string');

export const boolean: Parser<boolean> = (node, key, problems) => (node.kind === 'scalar' && typeof node.value === 'boolean' ? node.value : problem(problems, node, key, 'true or false'));

/** A Go-style duration ("200ms", "1m30s"), as milliseconds. */
export const duration: Writable<number> = writable((node, key, problems) => {
  const ms = node.kind === 'scalar' && typeof node.value === 'string' ? parseDuration(node.value) : undefined;
  return ms === undefined ? problem(problems, node, key, 'a duration with a unit, such as 200ms, 30s or 5m') : ms;
}, formatDuration);

export const port: Parser<number> = (node, key, problems) =>
  node.kind === 'scalar' && typeof node.value === 'number' && Number.isInteger(node.value) && node.value >= 1 && node.value <= 65535
    ? node.value
    : problem(problems, node, key, 'a TCP port number (1-65535)');

export const absolutePath: Parser<string> = (node, key, problems) =>
  node.kind === 'scalar' && typeof node.value === 'string' && path.isAbsolute(node.value) ? path.normalize(node.value) : problem(problems, node, key, 'an absolute path');

export function oneOf<const V extends string | number>(values: readonly V[]): Parser<V> {
  return (node, key, problems) =>
    node.kind === 'scalar' && (values as readonly unknown[]).includes(node.value) ? (node.value as V) : problem(problems, node, key, `one of ${values.map((v) => JSON.stringify(v)).join(', ')}`);
}

/** An IP address as written (IPv4 or IPv6), checked by `check` for addresses the agent cannot use. */
export function ipAddress(check: (ip: string) => string | undefined): Parser<string> {
  return (node, key, problems) => {
    if (node.kind !== 'scalar' || typeof node.value !== 'string' || isIP(node.value) === 0) return problem(problems, node, key, 'an IPv4 or IPv6 address');
    const why = check(node.value);
    if (why !== undefined) {
      problems.push({ at: node.loc, key, message: why });
      return INVALID;
    }
    return node.value;
  };
}

export function list<T>(item: Parser<T>, opts: { nonEmpty?: boolean; unique?: boolean; what: string }): Parser<T[]> {
  return (node, key, problems) => {
    if (node.kind !== 'seq') return problem(problems, node, key, `a list of ${opts.what}`);
    if (opts.nonEmpty && node.items.length === 0) return problem(problems, node, key, `at least one ${opts.what.replace(/s$/, '')}`);
    const out: T[] = [];
    let bad = false;
    node.items.forEach((n, i) => {
      const v = item(n, `${key}[${i}]`, problems);
      if (v === INVALID) {
        bad = true;
        return;
      }
      if (opts.unique && out.some((x) => JSON.stringify(x) === JSON.stringify(v))) {
        problems.push({ at: n.loc, key: `${key}[${i}]`, message: `duplicate ${describeNode(n)}` });
        bad = true;
        return;
      }
      out.push(v);
    });
    // eslint-disable-next-line @typescript-eslint/no-unnecessary-condition -- set in the forEach callback
    return bad ? INVALID : out;
  };
}

/** A nested settings block: absent means all of its defaults. */
export function section<T>(parse: Parser<T>): Field<T> {
  return field(parse, () => {
    const v = parse({ kind: 'scalar', value: null, loc: { file: '(defaults)' } }, '', []);
    if (v === INVALID) throw new Error('internal: section defaults do not validate');
    return v;
  });
}

export function integer(min: number, max: number): Parser<number> {
  return (node, key, problems) =>
    node.kind === 'scalar' && typeof node.value === 'number' && Number.isInteger(node.value) && node.value >= min && node.value <= max
      ? node.value
      : problem(problems, node, key, `a whole number from ${min} to ${max}`);
}

export const byteSize: Writable<number> = writable((node, key, problems) => {
  const v = node.kind === 'scalar' && (typeof node.value === 'string' || typeof node.value === 'number') ? parseByteSize(node.value) : undefined;
  return v === undefined ? problem(problems, node, key, 'a size such as 512MiB or 2GB') : v;
}, writeByteSize);

export const byteRate: Writable<number> = writable(
  (node, key, problems) => {
    const v = node.kind === 'scalar' && (typeof node.value === 'string' || typeof node.value === 'number') ? parseByteRate(node.value) : undefined;
    return v === undefined ? problem(problems, node, key, 'a rate such as 5MB/s, 40Mbit/s, or 0 for unlimited') : v;
  },
  (v) => (v === 0 ? 0 : `${writeByteSize(v)}/s`),
);
