/**
 * Garbage collection: keep the N most recently pulled images, drop the others from
 * index.json, then delete every blob no kept image references, interrupted downloads, and
 * the staged root filesystems of images no longer kept (hundreds of MB each). index.json
 * is rewritten first, so a crash in between only leaves unreferenced blobs for the next gc.
 * The caller holds the store, staging and upgrade locks.
 */
import { digestHex } from '../registry/digest.ts';
import { readdir, rm, unlink } from 'node:fs/promises';
import path from 'node:path';
import { listImages, type StoredImage } from './images.ts';
import type { OciStore } from './oci-store.ts';
import type { TransferStats } from './transfer-stats.ts';

export interface GcResult {
  kept: string[];
  removed: string[];
  blobsDeleted: number;
  bytesFreed: number;
  /** Staging directories (one per image manifest) removed. */
  stagingsRemoved: string[];
  /** Nothing was deleted: this is what gc would do. */
  dryRun: boolean;
}

export interface GcOptions {
  keep: number;
  /** Where staged root filesystems are (one directory per manifest digest). */
  stagingBase: string;
  dryRun: boolean;
}

export async function collectGarbage(store: OciStore, stats: TransferStats, opts: GcOptions): Promise<GcResult> {
  const images = await listImages(store, stats);
  const kept = images.slice(0, opts.keep);
  const removed = images.slice(opts.keep);
  const keptManifests = new Set(kept.map((i) => digestHex(i.manifest.digest)));
  const stagings = (await readdir(opts.stagingBase).catch(() => [] as string[]))
    .filter((name) => /^[0-9a-f]{64}$/.test(name) && !keptManifests.has(name))
    .map((name) => path.join(opts.stagingBase, name));
  const live = new Set<string>(kept.flatMap((i: StoredImage) => [i.manifest, ...(i.index ? [i.index] : []), ...i.metadata, ...i.blobs].map((b) => b.digest)));
  const sizes = new Map(images.flatMap((i) => [...i.blobs, ...i.metadata].map((b) => [b.digest, b.size] as const)));
  const dead = (await store.listBlobs()).filter((d) => !live.has(d));
  const result: GcResult = {
    kept: kept.map((i) => i.ref),
    removed: removed.map((i) => i.ref),
    blobsDeleted: dead.length,
    bytesFreed: dead.reduce((n, d) => n + (sizes.get(d) ?? 0), 0),
    stagingsRemoved: stagings,
    dryRun: opts.dryRun,
  };
  if (opts.dryRun) return result;
  for (const dir of stagings) await rm(dir, { recursive: true, force: true });
  if (removed.length > 0) await store.removeImages(result.removed);
  for (const digest of dead) await store.removeBlob(digest);
  const ingest = path.join(store.dir, 'ingest');
  for (const name of await readdir(ingest)) await unlink(path.join(ingest, name)).catch(() => undefined);
  return result;
}
