/** Kairos' merge rules (kairos-sdk collector.DeepMerge) on located trees. */
import { describe, expect, it } from 'vitest';
import { mergeMaps } from '../../src/config/kairos-merge.ts';
import { parseYamlTree, toPlain, type YMap } from '../../src/config/yaml-tree.ts';
import { ConfigError } from '../../src/errors.ts';

function tree(text: string, file: string): YMap {
  const p = parseYamlTree(text, file);
  if (!p.ok || p.root?.kind !== 'map') throw new Error('bad fixture');
  return p.root;
}

function merge(a: string, b: string): unknown {
  return toPlain(mergeMaps(tree(a, 'a.yaml'), tree(b, 'b.yaml')));
}

describe('Kairos merge rules', () => {
  it('merges maps key by key, recursively', () => {
    expect(merge('info: {name: Mario}', 'info: {surname: Bros}')).toEqual({ info: { name: 'Mario', surname: 'Bros' } });
  });
  it('lets a later scalar win', () => {
    expect(merge('name: Mario\nn: 1', 'name: Luigi\nn: 2')).toEqual({ name: 'Luigi', n: 2 });
  });
  it('unions scalar lists, keeping order and dropping repeats', () => {
    expect(merge('l: [one, three]', 'l: [two, one, 4]')).toEqual({ l: ['one', 'three', 'two', 4] });
  });
  it('concatenates lists whose first element is a map', () => {
    expect(merge('stages: {boot: [{name: a}]}', 'stages: {boot: [{name: a}, {name: b}]}')).toEqual({ stages: { boot: [{ name: 'a' }, { name: 'a' }, { name: 'b' }] } });
  });
  it('takes the later list when the earlier one is empty', () => {
    expect(merge('l: []', 'l: [{a: 1}]')).toEqual({ l: [{ a: 1 }] });
  });
  it('resets a value to its empty value on a later null', () => {
    expect(merge('s: val\nl: [a, b]\nm: {a: 1}\nn: 3\nb: true', 's: null\nl: null\nm: null\nn: null\nb: null')).toEqual({ s: '', l: [], m: {}, n: 0, b: false });
  });
  it('takes the later value over an earlier null', () => {
    expect(merge('m:', 'm: {a: 1}')).toEqual({ m: { a: 1 } });
  });
  it('refuses to merge values of different kinds, naming both files and the key', () => {
    let err: unknown;
    try {
      merge('k3s:\n  enabled: true\n', 'k3s: true\n');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).message).toMatch(/^b\.yaml:1:\d+: k3s: cannot merge a bool with the map set at a\.yaml:2/);
  });
});
