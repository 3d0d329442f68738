/** `kairos-spegel configure`: parse, configure, render. */
import { configureMirror, STAGES, type Stage } from '../../app/configure.ts';
import { EXIT_OK, UsageError } from '../../errors.ts';
import { appEnv } from '../app-env.ts';
import type { CommandRun } from '../command.ts';
import type { CONFIGURE_OPTIONS } from '../commands.ts';

export const run: CommandRun<typeof CONFIGURE_OPTIONS> = async (ctx) => {
  const stage = ctx.options.stage ?? 'reconcile';
  if (!(STAGES as readonly string[]).includes(stage)) throw new UsageError(`--stage must be one of ${STAGES.join(', ')}, got "${stage}"`);
  const r = await configureMirror(appEnv(ctx), { stage: stage as Stage, dryRun: ctx.options['dry-run'] === true });
  ctx.out.result(r, () => {
    if (r.diff !== null) return r.diff !== '' ? r.diff : 'No changes: the mirror configuration is up to date.';
    return r.files.map((f) => `${f.action.padEnd(9)}  ${f.path}`).join('\n') || 'Nothing to write for this distribution at this stage.';
  });
  return EXIT_OK;
};
