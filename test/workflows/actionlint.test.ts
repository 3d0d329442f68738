/**
 * The GitHub workflows (.github/workflows) run only on GitHub, so nothing here executes them:
 * actionlint (pinned in scripts/peers.json) checks their syntax, expressions, action inputs and,
 * through shellcheck, their run: scripts. A missing actionlint or shellcheck fails the test.
 */
import { readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { peerBinary } from '../../testbed/peers.ts';
import { run } from '../../testbed/proc.ts';
import { tempDir } from '../../testbed/tmp.ts';

const REPO = path.resolve(import.meta.dirname, '../..');
const WORKFLOWS = path.join(REPO, '.github/workflows');

async function actionlint(cwd: string, files: string[]) {
  // -shellcheck names the program, so a machine without it fails here instead of skipping those checks.
  const shellcheck = (await run('sh', ['-c', 'command -v shellcheck'])).stdout.trim();
  if (shellcheck === '') throw new Error("shellcheck is missing: run 'bash scripts/setup.sh' (it installs Debian's shellcheck)");
  return run(peerBinary('actionlint'), ['-no-color', '-shellcheck', shellcheck, ...files], { cwd });
}

describe('.github/workflows', () => {
  it('pass actionlint, shellcheck included', async () => {
    const files = readdirSync(WORKFLOWS)
      .filter((f) => /\.ya?ml$/.test(f))
      .map((f) => path.join('.github/workflows', f));
    expect(files).toContain('.github/workflows/release.yml');
    const r = await actionlint(REPO, files);
    expect(r.stdout + r.stderr).toBe('');
    expect(r.code).toBe(0);
  });

  it('a run: script shellcheck objects to fails the lint (so the check above has teeth)', async () => {
    const dir = tempDir();
    const file = path.join(dir, 'bad.yml');
    writeFileSync(file, 'on: push\njobs:\n  a:\n    runs-on: ubuntu-24.04\n    steps:\n      - run: rm -rf $DIR/*\n');
    const r = await actionlint(dir, [file]);
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/SC2086/);
  });
});
