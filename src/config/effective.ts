/**
 * The effective configuration, key by key: each setting of the agent's schema with the
 * value the merged kairos-spegel: block gives it and where that value was written, or its
 * default. Walks the loader's located tree, so nothing is read or parsed a second time.
 */
import type { SourceLocation } from '../errors.ts';
import { agentSchema } from './agent-config.ts';
import type { Field, Parser, Writable } from './schema.ts';
import { toPlain, type YNode } from './yaml-tree.ts';

export interface EffectiveValue {
  /** The key inside the kairos-spegel: block, e.g. "pull.upstream". */
  key: string;
  /** As written in the file; a default in the form one would write it ("30s"); null when unset and without a default. */
  value: unknown;
  /** Where the value was written; null for a default. A list merged from several files is located where it started. */
  source: SourceLocation | null;
}

type Fields = Record<string, Field<unknown>>;

const sectionFields = (p: Parser<unknown>): Fields | undefined => ('fields' in p ? (p.fields as Fields) : undefined);
const written = (p: Parser<unknown>, v: unknown): unknown => (v === undefined ? null : 'write' in p ? (p as Writable<unknown>).write(v) : v);

function walk(fields: Fields, node: YNode | undefined, prefix: string, out: EffectiveValue[]): void {
  for (const [name, f] of Object.entries(fields)) {
    const key = prefix === '' ? name : `${prefix}.${name}`;
    const entry = node?.kind === 'map' ? node.entries.get(name)?.value : undefined;
    // As the schema reads it: an absent key and a null one both take the default.
    const set = entry?.kind === 'scalar' && entry.value === null ? undefined : entry;
    const nested = sectionFields(f.parse);
    if (nested) walk(nested, set, key, out);
    else if (set) out.push({ key, value: toPlain(set), source: set.loc });
    else out.push({ key, value: written(f.parse, f.fallback()), source: null });
  }
}

/** `block`: the merged kairos-spegel: block as the loader validated it (undefined when no file has one). */
export function effectiveValues(block: YNode | undefined): EffectiveValue[] {
  const out: EffectiveValue[] = [];
  walk(agentSchema.fields, block, '', out);
  return out;
}
