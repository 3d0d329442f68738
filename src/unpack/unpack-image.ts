/**
 * Unpacks a stored image into a staging rootfs: each layer in one streaming pass
 * (read, decompress, hash, apply), its diff_id from the image config checked at the
 * end of the layer. Any failure removes the staging: a rejected layer leaves nothing.
 */
import { digestFromHex, isDigest, type Digest } from '../registry/digest.ts';
import { parseJsonObject } from '../util/json.ts';
import { createHash } from 'node:crypto';
import { mkdir, open } from 'node:fs/promises';
import path from 'node:path';
import type { Logger } from '../log/logger.ts';
import type { StoredImage } from '../store/images.ts';
import type { OciStore } from '../store/oci-store.ts';
import { LayerApplier } from './apply-layer.ts';
import { layerTar } from './decompress.ts';
import { UnpackError } from './errors.ts';
import { RootFs } from './rootfs.ts';
import { readMarker, removeStaging, stagingDir, syncFilesystem, writeMarker, type StagedImage } from './staging.ts';
import { readTar } from './tar-reader.ts';
import { nativeAddon } from '../native/addon.ts';

export interface UnpackOptions {
  store: OciStore;
  image: StoredImage;
  /** Directory of stagings on this machine. */
  stagingBase: string;
  /** Where the single executable may write its xattr addon (exec-capable filesystem). */
  libDir: string;
  log: Logger;
  /** Aborts the unpack (SIGINT, SIGTERM): the partial staging is removed, nothing is marked. */
  signal?: AbortSignal;
}

function diffIds(config: Buffer, layers: number, where: string): Digest[] {
  const json = parseJsonObject(config.toString('utf8')) as { rootfs?: { type?: unknown; diff_ids?: unknown } } | undefined;
  if (json === undefined) throw new UnpackError(`${where}: the image config is not a JSON object`);
  const ids = json.rootfs?.diff_ids;
  if (!Array.isArray(ids) || !ids.every(isDigest)) throw new UnpackError(`${where}: the image config has no valid rootfs.diff_ids`);
  if (ids.length !== layers) throw new UnpackError(`${where}: the config lists ${ids.length} diff_ids for ${layers} layers`);
  return ids;
}

async function* hashing(source: AsyncIterable<Buffer>, hash: ReturnType<typeof createHash>): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    hash.update(chunk);
    yield chunk;
  }
}

/** The staged rootfs for `image`: an existing marked one, or a new one. */
export async function unpackImage(opts: UnpackOptions): Promise<StagedImage> {
  const { store, image, log } = opts;
  const dir = stagingDir(opts.stagingBase, image.manifest.digest);
  const existing = await readMarker(dir);
  if (existing) return existing;
  await removeStaging(dir); // unmarked: an interrupted unpack
  const rootfsDir = path.join(dir, 'rootfs');
  await mkdir(rootfsDir, { recursive: true, mode: 0o755 });
  const [config, ...layers] = image.blobs;
  const ids = diffIds(await store.readBlob(config!.digest), layers.length, image.ref);
  const applier = new LayerApplier(new RootFs(rootfsDir), nativeAddon(opts.libDir), log);
  const started = Date.now();
  try {
    for (const [i, layer] of layers.entries()) {
      const what = `layer ${i + 1}/${layers.length} (${layer.digest})`;
      const hash = createHash('sha256');
      opts.signal?.throwIfAborted();
      applier.startLayer();
      const t0 = Date.now();
      // A blob removed from the store before this (by hand: gc waits for the lock) fails here, as E_SYSTEM naming it.
      const blob = await open(store.blobPath(layer.digest), 'r');
      try {
        await readTar(hashing(layerTar(blob, layer.mediaType), hash), async (e) => {
          opts.signal?.throwIfAborted();
          return applier.entry(e);
        });
      } catch (err) {
        if (err instanceof UnpackError) throw new UnpackError(`${what}: ${err.message}`, err.hint);
        throw err;
      } finally {
        await blob.close();
      }
      const diff = digestFromHex(hash.digest('hex'));
      if (diff !== ids[i]) throw new UnpackError(`${what}: its uncompressed content is ${diff}, but the image config says diff_id ${ids[i]}`);
      log.info({ layer: i + 1, of: layers.length, entries: applier.stats.entries, seconds: (Date.now() - t0) / 1000 }, 'layer unpacked');
    }
    applier.finish();
    await applier.drain();
    if (applier.stats.skippedDevices > 0) log.info({ skipped: applier.stats.skippedDevices }, 'device nodes and FIFOs skipped (/dev comes from the running system)');
    await syncFilesystem(dir);
    opts.signal?.throwIfAborted();
    const staged = await writeMarker(dir, { ref: image.ref, manifest: image.manifest.digest, diffIds: ids, stagedAt: new Date().toISOString() });
    log.info({ image: image.ref, rootfs: staged.rootfs, seconds: (Date.now() - started) / 1000 }, 'staged');
    return staged;
  } catch (err) {
    applier.close();
    await applier.drain().catch(() => undefined);
    await removeStaging(dir);
    throw err;
  }
}
