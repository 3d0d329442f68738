/**
 * k3s /etc/rancher/k3s/registries.yaml: every mirrored registry must be listed under
 * `mirrors:` on every node for k3s' embedded Spegel to serve and use it (k3s docs:
 * https://docs.k3s.io/installation/registry-mirror). The user's own mirrors (with their endpoints) and `configs`
 * are kept; entries the agent added carry a comment so it can remove them later.
 * Edited as a YAML document, so the user's comments and layout survive.
 */
import { isMap, isScalar, LineCounter, Pair, parseDocument, Scalar, type Document } from 'yaml';
import { ConfigError } from '../errors.ts';

const MARK = ' managed by kairos-spegel';

export interface RegistriesYamlResult {
  /** The user's bytes, untouched, when nothing of ours changed. */
  text: string;
}

function isMarked(comment: string | null | undefined): boolean {
  return comment?.split('\n').some((l) => l.trim() === MARK.trim()) ?? false;
}

/**
 * registries.yaml parsed, or a ConfigError naming file:line:col. The parser's message is
 * cut to its first line, which names the problem and its position only: the rest quotes
 * the file, and this file holds registry passwords.
 */
function load(existing: string, file: string): Document {
  const lineCounter = new LineCounter();
  const doc = parseDocument(existing, { lineCounter, prettyErrors: false });
  const err = doc.errors[0];
  if (err !== undefined) {
    const { line, col } = lineCounter.linePos(err.pos[0]);
    throw new ConfigError([{ at: { file, line, col }, key: '', message: `not valid YAML: ${err.message.split('\n')[0]}` }]);
  }
  return doc;
}

/** The mirrors and configs of a k3s registries.yaml, as plain values (for reading, not rewriting). */
export function readRegistriesYaml(text: string, file: string): { mirrors: Record<string, unknown>; configs: Record<string, unknown> } {
  let value: unknown;
  try {
    // The yaml package's own bound on alias expansion ("billion laughs").
    value = load(text, file).toJS({ maxAliasCount: 100 });
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError([{ at: { file }, key: '', message: 'not usable YAML: its aliases expand too far' }]);
  }
  if (value === null || value === undefined) return { mirrors: {}, configs: {} };
  if (typeof value !== 'object' || Array.isArray(value)) throw new ConfigError([{ at: { file, line: 1 }, key: '', message: 'expected a mapping with "mirrors:" and "configs:"' }]);
  const { mirrors, configs } = value as { mirrors?: unknown; configs?: unknown };
  const asMap = (v: unknown): Record<string, unknown> => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {});
  return { mirrors: asMap(mirrors), configs: asMap(configs) };
}

/** @param names registries to list: `*` for all, or registry hosts such as docker.io */
export function mergeRegistriesYaml(existing: string | undefined, names: string[], file: string): RegistriesYamlResult {
  const doc = load(existing ?? '', file);
  if (doc.contents === null) doc.contents = doc.createNode({});
  if (!isMap(doc.contents)) throw new ConfigError([{ at: { file, line: 1 }, key: '', message: 'expected a mapping with "mirrors:" and "configs:"' }]);
  let mirrors = doc.get('mirrors', true);
  if (mirrors === undefined || (isScalar(mirrors) && mirrors.value === null)) {
    mirrors = doc.createNode({});
    doc.set('mirrors', mirrors);
  }
  if (!isMap(mirrors)) throw new ConfigError([{ at: { file }, key: 'mirrors', message: 'expected a mapping of registry names' }]);
  const map = mirrors;

  let changed = false;
  const want = new Set(names);
  // The comment above a map's first entry is attached to the map itself when parsed.
  const markedAt = (i: number) => {
    const key = map.items[i]!.key;
    return (isScalar(key) && isMarked(key.commentBefore)) || (i === 0 && isMarked(map.commentBefore));
  };
  for (let i = map.items.length - 1; i >= 0; i--) {
    const key = map.items[i]!.key;
    const name = isScalar(key) ? String(key.value) : String(key);
    if (markedAt(i) && !want.has(name)) {
      if (i === 0) map.commentBefore = undefined;
      map.items.splice(i, 1);
      changed = true;
    }
  }
  const present = new Set(map.items.map((p) => (isScalar(p.key) ? String(p.key.value) : String(p.key))));
  for (const name of names) {
    if (present.has(name)) continue;
    const key = new Scalar(name);
    key.type = 'QUOTE_DOUBLE';
    key.commentBefore = MARK;
    map.items.push(new Pair(key, doc.createNode({})));
    changed = true;
  }
  if (!changed && existing !== undefined) return { text: existing };
  return { text: doc.toString({ flowCollectionPadding: false }) };
}
