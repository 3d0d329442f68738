/** What the store holds: images by reference, with their sizes and provenance. */
import { isDigest } from '../registry/digest.ts';
import { isManifestMediaType, MEDIA_TYPES, parseManifest, type Descriptor } from '../registry/manifest.ts';
import { ANNOTATIONS, OciStore } from './oci-store.ts';
import { TransferStats, type ByRole } from './transfer-stats.ts';

export interface StoredImage {
  ref: string;
  image: string;
  manifest: Descriptor;
  /** The multi-platform index the image was chosen from. */
  index?: Descriptor;
  /** Everything else of the index the store holds: other platforms' and attestation manifests, their configs. */
  metadata: Descriptor[];
  pulledAt: string;
  /** Config and layers. */
  blobs: Descriptor[];
  size: number;
  bytes: ByRole;
}

/**
 * The index's other entries and their configs that the store holds (prepull stores them
 * all; a store written by an older version may lack them, and the next prepull adds them).
 */
async function indexMetadata(store: OciStore, index: Descriptor, chosen: string): Promise<Descriptor[]> {
  const out: Descriptor[] = [];
  const seen = new Set([index.digest, chosen]);
  const queue: Descriptor[] = [index];
  for (let d = queue.shift(); d !== undefined; d = queue.shift()) {
    const m = parseManifest(await store.readBlob(d.digest), d.mediaType, `${store.dir} ${d.digest}`);
    const children = m.kind === 'index' ? m.manifests : [m.config];
    for (const c of children) {
      if (seen.has(c.digest) || !(await store.hasBlob(c.digest, c.size))) continue;
      seen.add(c.digest);
      out.push(c);
      if (isManifestMediaType(c.mediaType)) queue.push(c);
    }
  }
  return out;
}

/** The index an image was chosen from, as recorded in its index.json entry. */
async function chosenFrom(store: OciStore, entry: Descriptor): Promise<Descriptor | undefined> {
  const digest = entry.annotations?.[ANNOTATIONS.indexDigest];
  if (!isDigest(digest)) return undefined;
  const mediaType = entry.annotations?.[ANNOTATIONS.indexMediaType] ?? MEDIA_TYPES.ociIndex;
  return { digest, mediaType, size: (await store.readBlob(digest)).length };
}

/**
 * The store's images for commands that only read (status, images): a node that never pulled
 * has no store, and reading one does not make it.
 */
export async function readStoredImages(storeDir: string): Promise<{ store?: OciStore; stats: TransferStats; images: StoredImage[] }> {
  const store = await OciStore.existing(storeDir);
  const stats = await TransferStats.load(storeDir);
  return { ...(store ? { store } : {}), stats, images: store ? await listImages(store, stats) : [] };
}

export async function listImages(store: OciStore, stats: TransferStats): Promise<StoredImage[]> {
  const out: StoredImage[] = [];
  for (const d of (await store.readIndex()).manifests) {
    const ref = d.annotations?.[ANNOTATIONS.refName];
    if (!ref) continue;
    const m = parseManifest(await store.readBlob(d.digest), d.mediaType, `${store.dir} ${d.digest}`);
    const blobs = m.kind === 'image' ? [m.config, ...m.layers] : [];
    const index = await chosenFrom(store, d);
    out.push({
      ref,
      image: d.annotations?.[ANNOTATIONS.image] ?? ref,
      manifest: { mediaType: d.mediaType, digest: d.digest, size: d.size },
      ...(index ? { index } : {}),
      metadata: index ? await indexMetadata(store, index, d.digest) : [],
      pulledAt: d.annotations?.[ANNOTATIONS.pulledAt] ?? '',
      blobs,
      size: blobs.reduce((s, b) => s + b.size, 0),
      bytes: stats.image(ref),
    });
  }
  return out.sort((a, b) => b.pulledAt.localeCompare(a.pulledAt));
}

/** The manifests of a stored image a registry request may ask for by digest: the index, the image's, the metadata ones. */
export function storedManifests(image: StoredImage): Descriptor[] {
  return [...(image.index ? [image.index] : []), image.manifest, ...image.metadata.filter((d) => isManifestMediaType(d.mediaType))];
}
