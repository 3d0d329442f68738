/**
 * `version`, `--version`, `-V`: one line naming the version, the commit and the build date
 * (--json: kairos-spegel/version/v1); and the build's stamps themselves (scripts/build-info.mjs):
 * the commit, "-dirty", "unknown" outside git, SOURCE_DATE_EPOCH.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runAgent, versionLine } from '../../testbed/agent.ts';
import { must, run } from '../../testbed/proc.ts';
import { tempDir } from '../../testbed/tmp.ts';
import pkg from '../../package.json' with { type: 'json' };

const ROOT = path.resolve(import.meta.dirname, '../..');
const BUILD_INFO = path.join(ROOT, 'scripts/build-info.mjs');

/** Calls build-info.mjs's `fn(arg)` in a Node of its own, as the build does. */
async function buildInfo(call: string, env: NodeJS.ProcessEnv = {}) {
  const { SOURCE_DATE_EPOCH: _unset, ...base } = process.env;
  return run(process.execPath, ['--input-type=module', '-e', `import * as b from ${JSON.stringify(BUILD_INFO)}; process.stdout.write(${call})`], { env: { ...base, ...env } });
}

describe('version', () => {
  it('version, --version and -V print the same line; --json the same facts', async () => {
    const outs = await Promise.all([['version'], ['--version'], ['-V'], ['status', '--version']].map((a) => runAgent(a)));
    for (const r of outs) expect(r.code).toBe(0);
    expect(outs[0]!.stdout).toMatch(versionLine(pkg.version));
    expect(new Set(outs.map((r) => r.stdout)).size).toBe(1);
    const [a, b] = await Promise.all([runAgent(['version', '--json']), runAgent(['--json', '--version'])]);
    expect(a.stdout).toBe(b.stdout);
    const doc = JSON.parse(a.stdout) as { commit: string; build_date: string; node: string };
    // The line shows the same commit, shortened, and the same date.
    expect(outs[0]!.stdout).toContain(`(commit ${doc.commit.slice(0, 7)}${doc.commit.endsWith('-dirty') ? '-dirty' : ''}, built ${doc.build_date}, node v${doc.node})`);
    expect(Date.parse(doc.build_date)).toBeLessThanOrEqual(Date.now());
  });

  it("names the commit the binary was built from (this checkout's HEAD)", async () => {
    const doc = JSON.parse((await runAgent(['version', '--json'])).stdout) as { commit: string };
    const head = (await must('git', ['-C', ROOT, 'rev-parse', 'HEAD'])).trim();
    expect(doc.commit.replace(/-dirty$/, '')).toBe(head);
  });
});

describe('build stamps (scripts/build-info.mjs)', () => {
  it('build date: SOURCE_DATE_EPOCH when set, ISO 8601 UTC to the second; a malformed one is refused', async () => {
    expect((await buildInfo('b.buildDate()', { SOURCE_DATE_EPOCH: '1700000000' })).stdout).toBe('2023-11-14T22:13:20Z');
    const now = (await buildInfo('b.buildDate()')).stdout;
    expect(now).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(Math.abs(Date.parse(now) - Date.now())).toBeLessThan(60_000);
    const bad = await buildInfo('b.buildDate()', { SOURCE_DATE_EPOCH: 'yesterday' });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('SOURCE_DATE_EPOCH must be a whole number');
  });

  it('commit: the HEAD sha, "-dirty" once a tracked file changes (an untracked one does not count), "unknown" outside git', async () => {
    const repo = tempDir();
    const git = (...args: string[]) => must('git', ['-C', repo, '-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args]);
    const commit = async () => (await buildInfo(`b.gitCommit(${JSON.stringify(repo)})`)).stdout;
    expect(await commit()).toBe('unknown');
    await git('init', '-q');
    expect(await commit()).toBe('unknown'); // no commit yet
    writeFileSync(path.join(repo, 'a.ts'), 'one\n');
    await git('add', 'a.ts');
    await git('commit', '-q', '-m', 'one');
    const head = (await git('rev-parse', 'HEAD')).trim();
    expect(await commit()).toBe(head);
    writeFileSync(path.join(repo, 'untracked.ts'), 'x\n');
    expect(await commit()).toBe(head);
    writeFileSync(path.join(repo, 'a.ts'), 'two\n');
    expect(await commit()).toBe(`${head}-dirty`);
  });
});
