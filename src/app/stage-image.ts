/**
 * The staged rootfs for an image: taken from an existing marked staging (no network at
 * all), else unpacked from the store, else prepulled first. Unpacking holds the staging
 * lock and first removes what interrupted unpacks left.
 */
import { mkdir } from 'node:fs/promises';
import { addonDir, nativeAddon } from '../native/addon.ts';
import { prepull, storedRefName, type PrepullEnv, type PrepullResult } from '../pull/prepull.ts';
import type { UpstreamPolicy } from '../config/upstream-policy.ts';
import type { Platform } from '../registry/manifest.ts';
import type { ImageRef } from '../registry/reference.ts';
import { listImages, type StoredImage } from '../store/images.ts';
import { acquireLock } from '../store/lock.ts';
import { OciStore } from '../store/oci-store.ts';
import { TransferStats } from '../store/transfer-stats.ts';
import { readMarker, removeUnmarked, stagingDir, type StagedImage } from '../unpack/staging.ts';
import { unpackImage } from '../unpack/unpack-image.ts';
import { UnpackError } from '../unpack/errors.ts';

/** Staging may have to prepull first, so it needs exactly what prepull needs. */
export type StageEnv = PrepullEnv;

export interface Staged {
  staged: StagedImage;
  image: StoredImage;
  store: OciStore;
  /** Set when this call downloaded the image. */
  prepulled?: PrepullResult;
}

export function stagingBase(env: Pick<StageEnv, 'root' | 'agent'>): string {
  return env.root.path(env.agent.upgrade.staging_path);
}

async function findImage(store: OciStore, refName: string): Promise<StoredImage | undefined> {
  return (await listImages(store, await TransferStats.load(store.dir))).find((i) => i.ref === refName);
}

/**
 * Unpacks `image` unless a marked staging exists, under the store lock (gc must not delete
 * the blobs it reads) and the staging lock.
 */
export async function unpackStored(env: StageEnv, store: OciStore, image: StoredImage): Promise<StagedImage> {
  const base = stagingBase(env);
  const ready = await readMarker(stagingDir(base, image.manifest.digest));
  if (ready) return ready;
  await mkdir(base, { recursive: true });
  const libDir = addonDir(env.root, env.agent.store.path);
  const native = nativeAddon(libDir);
  const wait = { waitMs: env.agent.store.lock_wait, log: env.log, ...(env.signal ? { signal: env.signal } : {}) };
  const storeLock = await acquireLock(store.dir, `the image store ${env.agent.store.path}`, native, wait);
  try {
    const lock = await acquireLock(base, `the staging area ${env.agent.upgrade.staging_path}`, native, wait);
    try {
      await removeUnmarked(base, env.log);
      return await unpackImage({ store, image, stagingBase: base, libDir, log: env.log, ...(env.signal ? { signal: env.signal } : {}) });
    } finally {
      await lock.release();
    }
  } finally {
    await storeLock.release();
  }
}

export async function stageImage(env: StageEnv, req: { ref: ImageRef; platform: Platform; policy: UpstreamPolicy; verify?: boolean }): Promise<Staged> {
  const store = await OciStore.open(env.root.path(env.agent.store.path));
  const refName = storedRefName(req.ref);
  let image = await findImage(store, refName);
  let prepulled: PrepullResult | undefined;
  const pull = async () => {
    prepulled = await prepull(env, req);
    image = await findImage(store, refName);
    if (!image) throw new Error(`internal: ${refName} missing from the store after prepull`);
    return image;
  };
  if (image && !req.verify) {
    env.log.info({ image: refName, manifest: image.manifest.digest }, 'already in the store: no download');
  } else {
    image = await pull();
  }
  let staged: StagedImage;
  try {
    staged = await unpackStored(env, store, image);
  } catch (err) {
    // A layer that does not unpack may be a damaged copy in the store (a bit flip on the
    // disk): the blobs are hashed, the damaged ones fetched again, and the unpack retried once.
    if (!(err instanceof UnpackError) || prepulled) throw err;
    const damaged = [];
    for (const b of image.blobs) if (!(await store.verifyBlob(b.digest))) damaged.push(b.digest);
    if (damaged.length === 0) throw err;
    env.log.warn({ blobs: damaged }, 'damaged in the store: their bytes do not hash to their digests; fetching them again');
    for (const d of damaged) await store.removeBlob(d);
    staged = await unpackStored(env, store, await pull());
  }
  return { staged, image, store, ...(prepulled ? { prepulled } : {}) };
}
