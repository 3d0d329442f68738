/**
 * Nothing in the repository cites a file that is not in it: a stranger reading README, the
 * docs or a comment must be able to open what it names. Checked: relative Markdown links,
 * and every path-like token ending in a source or doc extension, in the docs and in every
 * source, test and script file, against the files git tracks (a token may name a file by
 * its tail, as comments do: "transport/redirect.ts").
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(import.meta.dirname, '..');
const tracked = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean);
const trackedSet = new Set(tracked);
const texts = tracked.filter((f) => /\.(md|ts|mjs|js|sh|yaml|json)$/.test(f) && !f.startsWith('testbed/fixtures/') && f !== 'package-lock.json');

/** Paths the agent handles on a node, or that tools write, are not repository files. */
const NOT_OURS = /^(\/|~|\$|https?:|[a-z]+:\/\/)|^(etc|var|usr|oem|run|proc|sys|tmp)\/|node_modules|dist\/|\.build\/|^\.\.\/\.\.\/(dist|node_modules)/;

/** Files that live elsewhere by design: the installer at the root of the bundle image. */
const ELSEWHERE = new Set(['./run.sh']);

function existsByTail(token: string): boolean {
  const t = token.replace(/^\.\//, '');
  return trackedSet.has(t) || tracked.some((f) => f.endsWith(`/${t}`));
}

describe('repository citations', () => {
  it('no text names the shared reference notes this project was built from', () => {
    const offenders = texts.filter((f) => /\.\.\/shared\/|reference\/[a-z-]+\.md/.test(readFileSync(path.join(ROOT, f), 'utf8')));
    expect(offenders).toEqual([]);
  });

  it('every relative Markdown link points at a tracked file or folder', () => {
    const missing: string[] = [];
    for (const f of tracked.filter((x) => x.endsWith('.md'))) {
      for (const m of readFileSync(path.join(ROOT, f), 'utf8').matchAll(/\]\(([^)#\s]+)(#[^)]*)?\)/g)) {
        const target = m[1]!;
        if (/^[a-z]+:/.test(target)) continue;
        const resolved = path.normalize(path.join(path.dirname(f), target)).replace(/\/$/, '');
        if (!trackedSet.has(resolved) && !tracked.some((t) => t.startsWith(`${resolved}/`))) missing.push(`${f}: ${target}`);
      }
    }
    expect(missing).toEqual([]);
  });

  it('every file path named in a doc or a comment exists', () => {
    const missing = new Set<string>();
    for (const f of texts) {
      for (const m of readFileSync(path.join(ROOT, f), 'utf8').matchAll(/(?<![\w./-])((?:\.{1,2}\/)*[\w-]+(?:\/[\w.-]+)*\.(?:ts|md|mjs|sh))(?![\w/-]|\.\w)/g)) {
        const token = m[1]!;
        if (NOT_OURS.test(token) || ELSEWHERE.has(token) || (!token.includes('/') && !/^[A-Z]+\.md$/.test(token))) continue;
        if (f.endsWith('.ts') || f.endsWith('.mjs') ? /^\.{1,2}\//.test(token) && trackedSet.has(path.normalize(path.join(path.dirname(f), token))) : false) continue;
        if (!existsByTail(token)) missing.add(`${f}: ${token}`);
      }
    }
    expect([...missing]).toEqual([]);
  });
});
