/** `kairos-spegel gc [--keep N] [--dry-run]`: keep the N most recent images, free the rest (blobs and staged root filesystems). */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { formatBytes } from '../../util/units.ts';
import { EXIT_OK, UsageError } from '../../errors.ts';
import { loadNodeContext } from '../../app/node-context.ts';
import { collectGarbage } from '../../store/gc.ts';
import { addonDir, nativeAddon } from '../../native/addon.ts';
import { acquireLock, type Lock } from '../../store/lock.ts';
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
  const stagingBase = global.root.path(ctx.agent.upgrade.staging_path);
  const stateDir = path.dirname(global.root.path(ctx.agent.upgrade.state_file));
  const native = nativeAddon(addonDir(global.root, ctx.agent.store.path));
  // Nothing gc deletes may be in use: blobs an unpack reads (it holds the store lock), a
  // staging being unpacked or handed to kairos-agent (the staging and upgrade locks).
  const locks: Lock[] = [];
  try {
    locks.push(await acquireLock(store.dir, `the image store ${ctx.agent.store.path}`, native, { waitMs: ctx.agent.store.lock_wait, log }));
    for (const [dir, what] of [
      [stagingBase, `the staging area ${ctx.agent.upgrade.staging_path}`],
      [stateDir, 'the upgrade'],
    ] as const) {
      await mkdir(dir, { recursive: true });
      locks.push(await acquireLock(dir, what, native, { waitMs: ctx.agent.store.lock_wait, log }));
    }
    const dryRun = options['dry-run'] === true;
    const r = await collectGarbage(store, await TransferStats.load(store.dir), { keep, stagingBase, dryRun });
    log.info({ kept: r.kept, removed: r.removed, blobs_deleted: r.blobsDeleted, bytes_freed: r.bytesFreed, stagings_removed: r.stagingsRemoved.length, dry_run: dryRun }, 'gc');
    const would = dryRun ? 'would remove' : 'removed';
    out.result(r, () =>
      `kept ${r.kept.length} image(s), ${would} ${r.removed.length}${r.removed.length ? ` (${r.removed.join(', ')})` : ''}; ${dryRun ? 'would free' : 'freed'} ${formatBytes(r.bytesFreed)} in ${r.blobsDeleted} blob(s); ${would} ${r.stagingsRemoved.length} staged root filesystem(s)`,
    );
  } finally {
    for (const l of locks.reverse()) await l.release();
  }
  return EXIT_OK;
};
