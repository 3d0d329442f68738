/**
 * Kairos' cloud-config merge (kairos-sdk collector.DeepMerge), on located trees:
 * - maps are merged key by key, recursively;
 * - a list whose first element is a map is concatenated with the later list;
 *   other lists get the later list's items that are not already present;
 * - a later scalar replaces an earlier one;
 * - a later null resets the earlier value to its empty value ("" / 0 / false / [] / {});
 * - values of different kinds cannot be merged: Kairos fails the whole scan.
 */
import { ConfigError } from '../errors.ts';
import type { YMap, YNode, YScalar } from './yaml-tree.ts';

type Kind = 'map' | 'list' | 'string' | 'number' | 'bool';

function kindOf(n: YNode): Kind | 'null' {
  if (n.kind === 'map') return 'map';
  if (n.kind === 'seq') return 'list';
  if (n.value === null) return 'null';
  return typeof n.value === 'string' ? 'string' : typeof n.value === 'number' ? 'number' : 'bool';
}

function emptyLike(a: YNode, at: YNode): YNode {
  if (a.kind === 'map') return { kind: 'map', entries: new Map(), loc: at.loc };
  if (a.kind === 'seq') return { kind: 'seq', items: [], loc: at.loc };
  const zero: YScalar['value'] = typeof a.value === 'string' ? '' : typeof a.value === 'number' ? 0 : typeof a.value === 'boolean' ? false : null;
  return { kind: 'scalar', value: zero, loc: at.loc };
}

function sameValue(a: YNode, b: YNode): boolean {
  if (a.kind === 'scalar' && b.kind === 'scalar') return a.value === b.value;
  if (a.kind === 'seq' && b.kind === 'seq') return a.items.length === b.items.length && a.items.every((x, i) => sameValue(x, b.items[i]!));
  if (a.kind === 'map' && b.kind === 'map') {
    if (a.entries.size !== b.entries.size) return false;
    for (const [k, e] of a.entries) {
      const other = b.entries.get(k);
      if (other === undefined || !sameValue(e.value, other.value)) return false;
    }
    return true;
  }
  return false;
}

function deepMerge(a: YNode | undefined, b: YNode, key: string): YNode {
  if (a === undefined || kindOf(a) === 'null') return b;
  if (kindOf(b) === 'null') return emptyLike(a, b);
  const ka = kindOf(a);
  const kb = kindOf(b);
  if (ka !== kb) {
    throw new ConfigError([
      {
        at: b.loc,
        key,
        message: `cannot merge a ${kb} with the ${ka} set at ${a.loc.file}${a.loc.line === undefined ? '' : `:${a.loc.line}`} (Kairos refuses the whole cloud-config)`,
      },
    ]);
  }
  if (a.kind === 'seq' && b.kind === 'seq') {
    if (a.items.length === 0) return b;
    if (a.items[0]!.kind === 'map') return { kind: 'seq', items: [...a.items, ...b.items], loc: a.loc };
    const items = [...a.items];
    for (const item of b.items) if (!items.some((x) => sameValue(x, item))) items.push(item);
    return { kind: 'seq', items, loc: a.loc };
  }
  if (a.kind === 'map' && b.kind === 'map') return mergeMaps(a, b, key);
  return b;
}

export function mergeMaps(a: YMap, b: YMap, key = ''): YMap {
  const entries = new Map(a.entries);
  for (const [k, eb] of b.entries) {
    const ea = entries.get(k);
    const path = key ? `${key}.${k}` : k;
    entries.set(k, ea === undefined ? eb : { keyLoc: eb.keyLoc, value: deepMerge(ea.value, eb.value, path) });
  }
  return { kind: 'map', entries, loc: a.loc };
}
