/** `gc`: keep the most recent images, free the rest (blobs and staged root filesystems). */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { AppEnv } from './env.ts';
import { loadNodeContext } from './node-context.ts';
import { addonDir, nativeAddon } from '../native/addon.ts';
import { collectGarbage } from '../store/gc.ts';
import { acquireLock, type Lock } from '../store/lock.ts';
import { OciStore } from '../store/oci-store.ts';
import { TransferStats } from '../store/transfer-stats.ts';

export interface GcRequest {
  /** How many images to keep; default store.keep. */
  keep?: number;
  dryRun: boolean;
}

export interface GcResult {
  dry_run: boolean;
  keep: number;
  kept: string[];
  removed: string[];
  blobs_deleted: number;
  bytes_freed: number;
  stagings_removed: string[];
}

export async function collectStoreGarbage(env: AppEnv, req: GcRequest): Promise<GcResult> {
  const ctx = await loadNodeContext(env);
  const keep = req.keep ?? ctx.agent.store.keep;
  const store = await OciStore.open(env.root.path(ctx.agent.store.path));
  const stagingBase = env.root.path(ctx.agent.upgrade.staging_path);
  const stateDir = path.dirname(env.root.path(ctx.agent.upgrade.state_file));
  const native = nativeAddon(addonDir(env.root, ctx.agent.store.path));
  const wait = { waitMs: ctx.agent.store.lock_wait, log: env.log, ...(env.signal ? { signal: env.signal } : {}) };
  // Nothing gc deletes may be in use: blobs an unpack reads (it holds the store lock), a
  // staging being unpacked or handed to kairos-agent (the staging and upgrade locks).
  const locks: Lock[] = [];
  try {
    locks.push(await acquireLock(store.dir, `the image store ${ctx.agent.store.path}`, native, wait));
    for (const [dir, what] of [
      [stagingBase, `the staging area ${ctx.agent.upgrade.staging_path}`],
      [stateDir, 'the upgrade'],
    ] as const) {
      await mkdir(dir, { recursive: true });
      locks.push(await acquireLock(dir, what, native, wait));
    }
    const r = await collectGarbage(store, await TransferStats.load(store.dir), { keep, stagingBase, dryRun: req.dryRun });
    const result: GcResult = { dry_run: r.dryRun, keep, kept: r.kept, removed: r.removed, blobs_deleted: r.blobsDeleted, bytes_freed: r.bytesFreed, stagings_removed: r.stagingsRemoved };
    env.log.info(
      { kept: result.kept, removed: result.removed, blobs_deleted: result.blobs_deleted, bytes_freed: result.bytes_freed, stagings_removed: result.stagings_removed.length, dry_run: result.dry_run },
      'gc',
    );
    return result;
  } finally {
    for (const l of locks.reverse()) await l.release();
  }
}
