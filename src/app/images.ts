/** `images`: what the store holds, optionally with every blob hashed. */
import type { AppEnv } from './env.ts';
import { bytesBySource, type Bytes } from './bytes.ts';
import { pullInProgress, type InProgress } from './in-progress.ts';
import { loadNodeContext } from './node-context.ts';
import { readStoredImages } from '../store/images.ts';

export interface ImageEntry {
  image: string;
  manifest: string;
  /** The multi-platform index the manifest was chosen from. */
  index: string | null;
  size: number;
  pulled_at: string | null;
  bytes: Bytes;
  /** With verify: the blobs whose bytes do not hash to their digest. */
  damaged: string[] | null;
}

export interface ImagesResult {
  store: string;
  images: ImageEntry[];
  bytes: Bytes;
  /** A pull another run is doing on the store now. */
  in_progress: InProgress | null;
}

export async function listStoredImages(env: AppEnv, req: { verify: boolean }): Promise<ImagesResult> {
  const ctx = await loadNodeContext(env);
  const { store, stats, images } = await readStoredImages(env.root.path(ctx.agent.store.path));
  const entries: ImageEntry[] = [];
  for (const i of images) {
    let damaged: string[] | null = null;
    if (req.verify && store) {
      damaged = [];
      for (const b of [i.manifest, ...(i.index ? [i.index] : []), ...i.blobs]) if (!(await store.verifyBlob(b.digest))) damaged.push(b.digest);
    }
    entries.push({ image: i.ref, manifest: i.manifest.digest, index: i.index?.digest ?? null, size: i.size, pulled_at: i.pulledAt || null, bytes: bytesBySource(i.bytes), damaged });
  }
  return { store: ctx.agent.store.path, images: entries, bytes: bytesBySource(stats.total), in_progress: await pullInProgress(env.root.path(ctx.agent.store.path)) };
}
