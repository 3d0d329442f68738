/** `kairos-spegel completion bash|zsh|fish`: the script on stdout (it is the result, so --json has nothing to add). */
import { EXIT_OK, UsageError } from '../../errors.ts';
import type { CommandRun } from '../command.ts';
import type { COMPLETION_OPTIONS, SHELLS } from '../commands.ts';
import { completionScript, type CommandTable, type Shell } from '../completion.ts';

export function completionCommand(table: CommandTable & { shells: typeof SHELLS }): CommandRun<typeof COMPLETION_OPTIONS> {
  return (ctx) => {
    const [shell, ...rest] = ctx.positionals;
    if (shell === undefined || !(table.shells as readonly string[]).includes(shell)) {
      throw new UsageError(shell === undefined ? 'completion needs a shell' : `completion: unknown shell "${shell}"`, `use one of ${table.shells.join(', ')}`);
    }
    if (rest.length > 0) throw new UsageError(`completion takes one shell, got also ${rest.join(' ')}`);
    if (ctx.global.json) throw new UsageError('completion prints a shell script; --json does not apply');
    ctx.out.result({}, () => completionScript(shell as Shell, table));
    return Promise.resolve(EXIT_OK);
  };
}
