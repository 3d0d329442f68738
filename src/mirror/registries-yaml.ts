/**
 * k3s /etc/rancher/k3s/registries.yaml: every mirrored registry must be listed under
 * `mirrors:` on every node for k3s' embedded Spegel to serve and use it (k3s docs:
 * https://docs.k3s.io/installation/registry-mirror). The user's own mirrors (with their endpoints) and `configs`
 * are kept; entries the agent added carry a comment so it can remove them later.
 * Edited as a YAML document, so the user's comments and layout survive.
 */
import { isMap, isScalar, LineCounter, Pair, parseDocument, Scalar, type Document, type YAMLMap } from 'yaml';
import { ConfigError } from '../errors.ts';

const MARK = ' managed by kairos-spegel';

export interface RegistriesYamlResult {
  text: string;
  changed: boolean;
}

function isMarked(comment: string | null | undefined): boolean {
  return comment?.split('\n').some((l) => l.trim() === MARK.trim()) ?? false;
}

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

/** @param names registries to list: `*` for all, or registry hosts such as docker.io */
export function mergeRegistriesYaml(existing: string | undefined, names: string[], file: string): RegistriesYamlResult {
  const doc = load(existing ?? '', file);
  if (doc.contents === null) doc.contents = doc.createNode({}) as never;
  if (!isMap(doc.contents)) throw new ConfigError([{ at: { file, line: 1 }, key: '', message: 'expected a mapping with "mirrors:" and "configs:"' }]);
  let mirrors = doc.get('mirrors', true);
  if (mirrors === undefined || (isScalar(mirrors) && mirrors.value === null)) {
    mirrors = doc.createNode({});
    doc.set('mirrors', mirrors);
  }
  if (!isMap(mirrors)) throw new ConfigError([{ at: { file }, key: 'mirrors', message: 'expected a mapping of registry names' }]);
  const map = mirrors as YAMLMap;

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
  if (!changed && existing !== undefined) return { text: existing, changed: false };
  return { text: doc.toString({ flowCollectionPadding: false }), changed: true };
}
