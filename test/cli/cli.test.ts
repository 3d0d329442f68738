/** The binary itself: runs alone, resists NODE_OPTIONS, help for every command, usage errors exit 2. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS } from '../../src/cli/commands.ts';
import { AGENT, runAgent, versionLine } from '../../testbed/agent.ts';
import { run } from '../../testbed/proc.ts';
import { tempDir } from '../../testbed/tmp.ts';
import pkg from '../../package.json' with { type: 'json' };

describe('the single executable', () => {
  it('runs with an empty environment: no node on PATH, no node_modules', async () => {
    const r = await run('/usr/bin/env', ['-i', AGENT, '--version'], { cwd: '/' });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(versionLine(pkg.version));
  });

  it('ignores NODE_OPTIONS, so nothing can be injected into it', async () => {
    const dir = tempDir();
    const inject = path.join(dir, 'inject.js');
    writeFileSync(inject, 'process.stdout.write("INJECTED\\n")');
    const missing = await runAgent(['--version'], { env: { NODE_OPTIONS: '--require=/nonexistent.js' } });
    expect(missing.code).toBe(0);
    expect(missing.stdout).toMatch(versionLine(pkg.version));
    const present = await runAgent(['--version'], { env: { NODE_OPTIONS: `--require=${inject}` } });
    expect(present.stdout).not.toContain('INJECTED');
    // It ran, and ran normally: a crash would print nothing injected either.
    expect(present.code).toBe(0);
    expect(present.stdout).toMatch(versionLine(pkg.version));
  });

  it('prints the version as JSON with --json', async () => {
    const r = await runAgent(['--version', '--json']);
    expect(JSON.parse(r.stdout)).toEqual({
      schema: 'kairos-spegel/version/v1',
      version: pkg.version,
      commit: expect.stringMatching(/^([0-9a-f]{40}(-dirty)?|unknown)$/),
      build_date: expect.stringMatching(/Z$/),
      node: expect.stringMatching(/^22\./),
      arch: 'x64',
    });
  });
});

describe('help', () => {
  it('lists every command', async () => {
    const r = await runAgent(['--help']);
    expect(r.code).toBe(0);
    for (const c of COMMANDS) expect(r.stdout).toContain(`  ${c.name}`);
  });

  it.each(COMMANDS.map((c) => c.name))('%s --help shows its usage and options', async (name) => {
    const cmd = COMMANDS.find((c) => c.name === name)!;
    for (const args of [
      [name, '--help'],
      ['help', name],
    ]) {
      const r = await runAgent(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain(`Usage: ${cmd.usage}`);
      for (const opt of Object.keys(cmd.options)) expect(r.stdout).toContain(`--${opt}`);
      expect(r.stdout).toContain('--root DIR');
    }
  });
});

describe('usage errors exit 2 and say what to do', () => {
  it('no command', async () => {
    const r = await runAgent([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('Usage: kairos-spegel');
  });
  it('unknown command, with a suggestion', async () => {
    const r = await runAgent(['configur']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('unknown command "configur"');
    expect(r.stderr).toContain('did you mean "configure"?');
  });
  it('unknown option, with a suggestion', async () => {
    const r = await runAgent(['configure', '--dryrun']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown option --dryrun/);
    expect(r.stderr).toContain('did you mean --dry-run?');
  });
  it('bad option values', async () => {
    expect((await runAgent(['--log-level', 'loud', 'configure'])).code).toBe(2);
    const stage = await runAgent(['--root', '/nonexistent', 'configure', '--stage', 'later']);
    expect(stage.code).toBe(2);
    expect(stage.stdout + stage.stderr).toContain('--stage must be one of boot, network, reconcile');
    const wait = await runAgent(['--root', '/nonexistent', 'health', '--wait', 'soon']);
    expect(wait.code).toBe(2);
  });
  it('--root naming a file: exit 2, it says so, no stack trace', async () => {
    const file = path.join(tempDir(), 'not-a-dir');
    writeFileSync(file, 'x');
    for (const cmd of [['configure', '--dry-run'], ['status'], ['images']]) {
      const r = await runAgent(['--root', file, ...cmd]);
      expect(r.code, cmd.join(' ')).toBe(2);
      expect(r.stdout + r.stderr).toContain(`--root ${file}: not a directory`);
      expect(r.stdout + r.stderr).not.toMatch(/internal error|\n\s+at /);
    }
  });
  it('an image name of 10,000 characters, or a registry named "..": exit 2, no stack trace', async () => {
    for (const image of [`${'r'.repeat(10_000)}.io/app:v1`, '../app:v1']) {
      const r = await runAgent(['--root', tempDir(), '--json', 'prepull', image]);
      expect(r.code).toBe(2);
      expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: 'E_USAGE', message: expect.stringContaining('invalid image reference') } });
      expect(r.stdout + r.stderr).not.toMatch(/internal error|\n\s+at /);
    }
  });
  it('errors are one JSON document on stdout with --json', async () => {
    const r = await runAgent(['--json', 'configure', '--stage', 'later']);
    expect(r.code).toBe(2);
    expect(JSON.parse(r.stdout)).toMatchObject({ error: { code: 'E_USAGE', message: expect.stringContaining('--stage') } });
  });
});
