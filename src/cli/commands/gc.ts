/** `kairos-spegel gc [--keep N]`: keep the N most recent images, free the rest. */
import { formatBytes } from '../../config/units.ts';
import { EXIT_OK, UsageError } from '../../errors.ts';
import { loadNodeContext } from '../../node/context.ts';
import { collectGarbage } from '../../store/gc.ts';
import { addonDir, nativeAddon } from '../../native/addon.ts';
import { acquireLock } from '../../store/lock.ts';
import { OciStore } from '../../store/oci-store.ts';
import { TransferStats } from '../../store/transfer-stats.ts';
import type { CommandRun } from '../command.ts';

export const run: CommandRun = async ({ global, options, log, out }) => {
  const keepText = options['keep'] as string | undefined;
  const keepArg = keepText === undefined ? undefined : Number(keepText);
  if (keepArg !== undefined && !(Number.isInteger(keepArg) && keepArg >= 0)) throw new UsageError(`--keep expects a whole number, got "${keepText}"`);
  const ctx = await loadNodeContext(global, log);
  const keep = keepArg ?? ctx.agent.store.keep;
  const store = await OciStore.open(global.root.path(ctx.agent.store.path));
  const lock = await acquireLock(store.dir, `the image store ${ctx.agent.store.path}`, nativeAddon(addonDir(global.root, ctx.agent.store.path)));
  try {
    const r = await collectGarbage(store, await TransferStats.load(store.dir), keep);
    log.info({ kept: r.kept, removed: r.removed, blobs_deleted: r.blobsDeleted, bytes_freed: r.bytesFreed }, 'gc');
    out.result(r, () => `kept ${r.kept.length} image(s), removed ${r.removed.length}${r.removed.length ? ` (${r.removed.join(', ')})` : ''}; freed ${formatBytes(r.bytesFreed)} in ${r.blobsDeleted} blob(s)`);
  } finally {
    await lock.release();
  }
  return EXIT_OK;
};
