/**
 * `completion bash|zsh|fish`: each script, sourced in the real shell, completes every command
 * of the command table, each command's options, the values an option declares, and
 * operands; a command missing from a script fails here. bash: the completion function
 * called with COMP_WORDS/COMP_CWORD, read from COMPREPLY. fish: `complete -C`. zsh: the
 * completion system in an interactive zsh on a pseudo-terminal (testbed/zsh-complete.zsh).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { COMMANDS, GLOBAL_OPTIONS, SHELLS } from '../../src/cli/commands.ts';
import type { OptionSpecs } from '../../src/cli/command.ts';
import { runAgent } from '../../testbed/agent.ts';
import { must } from '../../testbed/proc.ts';
import { tempDir } from '../../testbed/tmp.ts';

type Shell = (typeof SHELLS)[number];
const ZSH_DRIVER = path.resolve(import.meta.dirname, '../../testbed/zsh-complete.zsh');
const scripts = {} as Record<Shell, string>;

beforeAll(async () => {
  const dir = tempDir();
  for (const shell of SHELLS) {
    const r = await runAgent(['completion', shell]);
    expect(r.code, r.stderr).toBe(0);
    scripts[shell] = path.join(dir, `kairos-spegel.${shell}`);
    writeFileSync(scripts[shell], r.stdout);
  }
});

const quote = (s: string) => `'${s.replaceAll("'", `'\\''`)}'`;
const lines = (out: string) => out.split('\n').filter((l) => l !== '');

/** The candidates `shell` offers for the last word of `words` (an empty last word: after a space). */
async function complete(shell: Shell, words: string[]): Promise<string[]> {
  const line = words.join(' ');
  let out: string;
  if (shell === 'bash') {
    out = await must('bash', [
      '--norc',
      '--noprofile',
      '-c',
      `source ${quote(scripts.bash)}; COMP_WORDS=(${words.map(quote).join(' ')}); COMP_CWORD=${words.length - 1}; _kairos_spegel; printf '%s\\n' "\${COMPREPLY[@]}"`,
    ]);
  } else if (shell === 'fish') {
    out = (await must('fish', ['--no-config', '-c', 'source $argv[1]; and complete -C $argv[2]', scripts.fish, line])).replace(/\t.*/g, '');
  } else {
    out = await must('zsh', ['-f', ZSH_DRIVER, scripts.zsh, line], { timeoutMs: 30_000 });
  }
  return [...new Set(lines(out))].sort();
}

const longOptions = (o: OptionSpecs) => Object.keys(o).map((k) => `--${k}`);
const names = [...COMMANDS.map((c) => c.name), 'help'].sort();

describe.each(SHELLS)('completion %s', (shell) => {
  it('offers every command of the table, and help', async () => {
    expect(await complete(shell, ['kairos-spegel', ''])).toEqual(names);
    expect(await complete(shell, ['kairos-spegel', 'con'])).toEqual(names.filter((n) => n.startsWith('con')));
  });

  it("finds the command after a global option's value", async () => {
    expect(await complete(shell, ['kairos-spegel', '--root', '/tmp', '--log-level', 'warn', 'pre'])).toEqual(['prepull']);
  });

  it("offers each command's options and the global ones", async () => {
    for (const c of COMMANDS) {
      const got = (await complete(shell, ['kairos-spegel', c.name, '--'])).filter((w) => w.startsWith('--'));
      expect(got, c.name).toEqual([...longOptions(c.options), ...longOptions(GLOBAL_OPTIONS)].sort());
    }
  });

  it('offers the values an option declares', async () => {
    const withChoices = [
      ...Object.entries(GLOBAL_OPTIONS as OptionSpecs).map(([k, o]) => ({ words: [`--${k}`], o })),
      ...COMMANDS.flatMap((c) => Object.entries(c.options).map(([k, o]) => ({ words: [c.name, `--${k}`], o }))),
    ].filter((x) => x.o.choices !== undefined);
    expect(withChoices.length).toBeGreaterThan(1);
    for (const { words, o } of withChoices) expect(await complete(shell, ['kairos-spegel', ...words, '']), words.join(' ')).toEqual([...o.choices!].sort());
  });

  it('offers operands (shells, command names, files) and directories for --root', async () => {
    expect(await complete(shell, ['kairos-spegel', 'completion', ''])).toEqual([...SHELLS].sort());
    expect(await complete(shell, ['kairos-spegel', 'help', 'up'])).toEqual(['upgrade']);
    const dir = tempDir();
    mkdirSync(path.join(dir, 'cloud-config.d'));
    writeFileSync(path.join(dir, 'cloud.yaml'), '#cloud-config\n');
    // zsh's matches are the last path component (it adds the directory as a prefix), bash's and fish's whole paths.
    const files = await complete(shell, ['kairos-spegel', 'validate', `${dir}/cl`]);
    expect(files.map((f) => path.basename(f))).toEqual(['cloud-config.d', 'cloud.yaml']);
    const dirs = await complete(shell, ['kairos-spegel', '--root', `${dir}/cl`]);
    expect(dirs.map((f) => path.basename(f))).toEqual(['cloud-config.d']);
  });
});

describe('completion', () => {
  it('zsh: the script is valid zsh and defines _kairos-spegel', async () => {
    await must('zsh', ['-n', scripts.zsh]);
    expect(
      await must('zsh', ['-f', '-c', `autoload -U compinit && compinit -u -D && source ${quote(scripts.zsh)} && print -r -- $functions[_kairos-spegel] && print -r -- $_comps[kairos-spegel]`]),
    ).toMatch(/\S[\s\S]*\n_kairos-spegel\n$/);
  });

  it('bash: registers its function for kairos-spegel', async () => {
    expect(await must('bash', ['--norc', '--noprofile', '-c', `source ${quote(scripts.bash)}; complete -p kairos-spegel`])).toBe('complete -F _kairos_spegel kairos-spegel\n');
  });

  it('refuses an unknown shell and --json (exit 2)', async () => {
    const r = await runAgent(['completion', 'tcsh']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown shell \\?"tcsh/);
    expect(r.stdout).toBe('');
    expect((await runAgent(['completion'])).code).toBe(2);
    const json = await runAgent(['--json', 'completion', 'bash']);
    expect(json.code).toBe(2);
    expect(JSON.parse(json.stdout)).toMatchObject({ error: { code: 'E_USAGE' } });
  });
});
