/** `kairos-spegel gc [--keep N] [--dry-run]`: parse, collect, render. */
import { collectStoreGarbage } from '../../app/gc.ts';
import { EXIT_OK, UsageError } from '../../errors.ts';
import { formatBytes } from '../../util/units.ts';
import { appEnv } from '../app-env.ts';
import type { CommandRun } from '../command.ts';
import type { GC_OPTIONS } from '../commands.ts';
import { interruptible } from '../interrupt.ts';

export const run: CommandRun<typeof GC_OPTIONS> = async (ctx) => {
  const keepText = ctx.options.keep;
  const keep = keepText === undefined ? undefined : Number(keepText);
  if (keep !== undefined && !(/^\d+$/.test(keepText!) && Number.isSafeInteger(keep))) throw new UsageError(`--keep expects a whole number, got "${keepText}"`);
  const r = await interruptible((signal) => collectStoreGarbage(appEnv(ctx, signal), { ...(keep === undefined ? {} : { keep }), dryRun: ctx.options['dry-run'] === true }));
  const would = r.dry_run ? 'would remove' : 'removed';
  ctx.out.result(
    r,
    () =>
      `kept ${r.kept.length} image(s), ${would} ${r.removed.length}${r.removed.length ? ` (${r.removed.join(', ')})` : ''}; ${r.dry_run ? 'would free' : 'freed'} ${formatBytes(r.bytes_freed)} in ${r.blobs_deleted} blob(s); ${would} ${r.stagings_removed.length} staged root filesystem(s)`,
  );
  return EXIT_OK;
};
