/**
 * Garbage collection: keep the N most recently pulled images, drop the others from
 * index.json, then delete every blob no kept image references, and interrupted
 * downloads. index.json is rewritten first, so a crash in between only leaves
 * unreferenced blobs for the next gc.
 */
import { readdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { listImages, type StoredImage } from './images.ts';
import type { OciStore } from './oci-store.ts';
import type { TransferStats } from './transfer-stats.ts';

export interface GcResult {
  kept: string[];
  removed: string[];
  blobsDeleted: number;
  bytesFreed: number;
}

export async function collectGarbage(store: OciStore, stats: TransferStats, keep: number): Promise<GcResult> {
  const images = await listImages(store, stats);
  const kept = images.slice(0, keep);
  const removed = images.slice(keep);
  if (removed.length > 0) await store.removeImages(removed.map((i) => i.ref));
  const live = new Set<string>(kept.flatMap((i: StoredImage) => [i.manifest, ...(i.index ? [i.index] : []), ...i.metadata, ...i.blobs].map((b) => b.digest)));
  let blobsDeleted = 0;
  let bytesFreed = 0;
  const sizes = new Map(images.flatMap((i) => [...i.blobs, ...i.metadata].map((b) => [b.digest, b.size] as const)));
  for (const digest of await store.listBlobs()) {
    if (live.has(digest)) continue;
    await store.removeBlob(digest);
    blobsDeleted++;
    bytesFreed += sizes.get(digest) ?? 0;
  }
  const ingest = path.join(store.dir, 'ingest');
  for (const name of await readdir(ingest)) await unlink(path.join(ingest, name)).catch(() => undefined);
  return { kept: kept.map((i) => i.ref), removed: removed.map((i) => i.ref), blobsDeleted, bytesFreed };
}
