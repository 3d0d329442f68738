/**
 * Every cloud-config in README parses, and its kairos-spegel block passes the agent's own
 * validation; every other YAML example (the Kairos operator's objects) parses too.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { validateAgentBlock } from '../src/config/load.ts';
import { parseYamlTree } from '../src/config/yaml-tree.ts';

const README = readFileSync(path.resolve(import.meta.dirname, '../README.md'), 'utf8');
const yamlBlocks = [...README.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
const isCloudConfig = (b: string) => b.startsWith('#cloud-config') || b.includes('kairos-spegel:');
const blocks = yamlBlocks.filter(isCloudConfig);
const manifests = yamlBlocks.filter((b) => !isCloudConfig(b));

describe('README cloud-config examples', () => {
  it('there are some', () => {
    expect(blocks.length).toBeGreaterThan(0);
  });
  it.each(blocks.map((b, i) => [i, b] as const))('example %i validates', (_i, text) => {
    const parsed = parseYamlTree(text, 'README.md');
    expect(parsed.ok).toBe(true);
    if (!parsed.ok || parsed.root?.kind !== 'map') throw new Error('not a mapping');
    expect(() => validateAgentBlock(parsed.root as never)).not.toThrow();
  });
  it('the configuration reference states the real defaults', () => {
    const reference = blocks.find((b) => b.includes('Every key') || b.includes('wait_for_ip: 30s'))!;
    const parsed = parseYamlTree(reference, 'README.md');
    const empty = parseYamlTree('kairos-spegel:\n', 'empty.yaml');
    if (!parsed.ok || !empty.ok) throw new Error('unparsable');
    expect(validateAgentBlock(parsed.root as never)).toEqual(validateAgentBlock(empty.root as never));
  });
});

describe('README Kairos operator examples', () => {
  it.each(manifests.map((b, i) => [i, b] as const))('example %i is a NodeOp or NodeOpUpgrade that parses', (_i, text) => {
    const doc = parse(text) as { apiVersion: string; kind: string; spec: { image: string; command?: string[] } };
    expect(doc.apiVersion).toBe('operator.kairos.io/v1alpha1');
    expect(['NodeOp', 'NodeOpUpgrade']).toContain(doc.kind);
    expect(doc.spec.image).toMatch(/\S/);
    // A NodeOp's pod runs the agent installed on the host, mounted at /host.
    if (doc.spec.command) expect(doc.spec.command.slice(0, 3)).toEqual(['chroot', '/host', 'kairos-spegel']);
  });
});

describe('README navigation', () => {
  // GitHub's heading anchors: lower case, punctuation but '-' and '_' dropped, spaces to '-'.
  const anchor = (title: string) =>
    title
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\- _]/gu, '')
      .replace(/ /g, '-');
  const outsideFences = README.replace(/```[\s\S]*?```/g, '');
  const headings = [...outsideFences.matchAll(/^(#{2,6}) (.+)$/gm)].map((m) => ({ level: m[1]!.length, title: m[2]!, anchor: anchor(m[2]!) }));

  it('every in-page link names a heading', () => {
    const anchors = new Set(headings.map((h) => h.anchor));
    const links = [...outsideFences.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]!);
    expect(links.length).toBeGreaterThan(0);
    expect(links.filter((l) => !anchors.has(l))).toEqual([]);
  });

  it('the table of contents lists every section and subsection, in order', () => {
    const contents = /^## Contents\n\n((?:\s*- \[.*\]\(#.*\)\n)+)/m.exec(README)?.[1] ?? '';
    const listed = [...contents.matchAll(/\]\(#([^)]+)\)/g)].map((m) => m[1]);
    const expected = headings.filter((h) => h.level <= 3 && h.title !== 'Contents').map((h) => h.anchor);
    expect(listed).toEqual(expected);
  });
});
