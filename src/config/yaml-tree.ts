/**
 * YAML parsed into a small tree whose every node remembers the file, line and
 * column it came from. Configuration is merged and validated on this tree, so
 * an error about a merged value can still name the file that set it.
 */
import { isAlias, isMap, isScalar, isSeq, LineCounter, parseAllDocuments, type Document, type Node as YamlNode } from 'yaml';
import type { SourceLocation } from '../errors.ts';

export type Scalar = string | number | boolean | null;

export interface YScalar {
  kind: 'scalar';
  value: Scalar;
  loc: SourceLocation;
}
export interface YSeq {
  kind: 'seq';
  items: YNode[];
  loc: SourceLocation;
}
export interface YEntry {
  keyLoc: SourceLocation;
  value: YNode;
}
export interface YMap {
  kind: 'map';
  entries: Map<string, YEntry>;
  loc: SourceLocation;
}
export type YNode = YScalar | YSeq | YMap;

export interface YamlSyntaxError {
  at: SourceLocation;
  message: string;
}

export type ParsedYaml = { ok: true; root: YNode | undefined } | { ok: false; error: YamlSyntaxError };

const MERGE_KEY = '<<';

/** Parses the first document of `text` (what Go's yaml.Unmarshal reads). */
export function parseYamlTree(text: string, file: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter, merge: true, prettyErrors: false });
  if (!Array.isArray(docs)) return { ok: true, root: undefined }; // empty stream
  const doc = docs[0];
  if (doc === undefined) return { ok: true, root: undefined };
  const first = doc.errors[0];
  if (first !== undefined) {
    const pos = lineCounter.linePos(first.pos[0]);
    return { ok: false, error: { at: { file, line: pos.line, col: pos.col }, message: first.message.split('\n')[0] ?? first.message } };
  }
  const at = (node: YamlNode | null | undefined): SourceLocation => {
    const offset = node?.range?.[0];
    if (offset === undefined) return { file };
    const pos = lineCounter.linePos(offset);
    return { file, line: pos.line, col: pos.col };
  };
  if (doc.contents === null) return { ok: true, root: undefined };
  try {
    return { ok: true, root: convert({ doc, at, expanded: 0, alias: undefined }, doc.contents, 0) };
  } catch (err) {
    if (err instanceof YamlLimitError) return { ok: false, error: { at: err.at, message: err.message } };
    throw err;
  }
}

/**
 * Bounds on what a small file can make the tree grow to. Nesting beyond MAX_DEPTH is refused
 * (aliases forming a loop, or a hostile file); so is a file whose aliases expand to more than
 * MAX_EXPANDED nodes: a few hundred bytes of nested aliases ("billion laughs") otherwise take
 * minutes and gigabytes. Go's yaml.v3, which Kairos reads the same files with, refuses
 * "excessive aliasing" too.
 */
const MAX_DEPTH = 64;
const MAX_EXPANDED = 100_000;

class YamlLimitError extends Error {
  readonly at: SourceLocation;
  constructor(at: SourceLocation, message: string) {
    super(message);
    this.at = at;
  }
}

interface Conversion {
  doc: Document;
  at: (n: YamlNode | null | undefined) => SourceLocation;
  /** Nodes made by expanding aliases so far. */
  expanded: number;
  /** The outermost alias being expanded, if any. */
  alias: YamlNode | undefined;
}

function convert(c: Conversion, node: unknown, depth: number): YNode {
  if (depth > MAX_DEPTH) throw new YamlLimitError(c.at((c.alias ?? node) as YamlNode), `YAML nested more than ${MAX_DEPTH} levels deep (aliases forming a loop?)`);
  if (c.alias !== undefined && ++c.expanded > MAX_EXPANDED) {
    throw new YamlLimitError(c.at(c.alias), `YAML aliases expand to more than ${MAX_EXPANDED} values; refusing the file (nested aliases, "billion laughs")`);
  }
  if (isAlias(node)) {
    if (c.alias !== undefined) return convert(c, node.resolve(c.doc), depth + 1);
    c.alias = node;
    try {
      return convert(c, node.resolve(c.doc), depth + 1);
    } finally {
      c.alias = undefined;
    }
  }
  const at = c.at;
  if (isScalar(node)) return { kind: 'scalar', value: toScalar(node.value), loc: at(node) };
  if (isSeq(node)) return { kind: 'seq', items: node.items.map((item) => convert(c, item, depth + 1)), loc: at(node) };
  if (isMap(node)) {
    const entries = new Map<string, YEntry>();
    const merged: YMap[] = [];
    for (const pair of node.items) {
      // With merge keys enabled, the parser gives `<<` a symbol value.
      const isMerge = isScalar(pair.key) && (typeof pair.key.value === 'symbol' || pair.key.value === MERGE_KEY);
      const key = isMerge ? MERGE_KEY : isScalar(pair.key) ? String(pair.key.value) : String(pair.key);
      const value: YNode = pair.value === null ? { kind: 'scalar', value: null, loc: at(pair.key as YamlNode) } : convert(c, pair.value, depth + 1);
      if (isMerge && (isAlias(pair.value) || isSeq(pair.value))) {
        const sources = value.kind === 'seq' ? value.items : [value];
        for (const s of sources) if (s.kind === 'map') merged.push(s);
        continue;
      }
      entries.set(key, { keyLoc: at(pair.key as YamlNode), value });
    }
    // YAML merge keys: explicit keys win, then earlier merged maps win over later ones.
    for (const m of merged) {
      for (const [k, e] of m.entries) if (!entries.has(k)) entries.set(k, e);
    }
    return { kind: 'map', entries, loc: at(node) };
  }
  return { kind: 'scalar', value: null, loc: at(node as YamlNode) };
}

function toScalar(v: unknown): Scalar {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return Number(v);
  // eslint-disable-next-line @typescript-eslint/no-base-to-string -- a scalar of another type (a %YAML 1.1 timestamp or binary) prints as String() does
  return String(v);
}

/** Plain JavaScript value of a tree (for values the agent passes through untouched). */
export function toPlain(node: YNode | undefined): unknown {
  if (node === undefined) return undefined;
  switch (node.kind) {
    case 'scalar':
      return node.value;
    case 'seq':
      return node.items.map(toPlain);
    case 'map':
      return Object.fromEntries([...node.entries].map(([k, e]) => [k, toPlain(e.value)]));
  }
}

export function describeNode(node: YNode): string {
  if (node.kind === 'map') return 'a mapping';
  if (node.kind === 'seq') return 'a list';
  if (node.value === null) return 'nothing (null)';
  return typeof node.value === 'string' ? JSON.stringify(node.value) : String(node.value);
}
