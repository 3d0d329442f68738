/** What the store holds: images by reference, with their sizes and provenance. */
import { parseManifest, type Descriptor } from '../registry/manifest.ts';
import { ANNOTATIONS, type OciStore } from './oci-store.ts';
import type { ByRole, TransferStats } from './transfer-stats.ts';

export interface StoredImage {
  ref: string;
  image: string;
  manifest: Descriptor;
  indexDigest?: string;
  pulledAt: string;
  /** Config and layers. */
  blobs: Descriptor[];
  size: number;
  bytes: ByRole;
}

export async function listImages(store: OciStore, stats: TransferStats): Promise<StoredImage[]> {
  const out: StoredImage[] = [];
  for (const d of (await store.readIndex()).manifests) {
    const ref = d.annotations?.[ANNOTATIONS.refName];
    if (!ref) continue;
    const m = parseManifest(await store.readBlob(d.digest), d.mediaType, `${store.dir} ${d.digest}`);
    const blobs = m.kind === 'image' ? [m.config, ...m.layers] : [];
    const indexDigest = d.annotations?.[ANNOTATIONS.indexDigest];
    out.push({
      ref,
      image: d.annotations?.[ANNOTATIONS.image] ?? ref,
      manifest: { mediaType: d.mediaType, digest: d.digest, size: d.size },
      ...(indexDigest ? { indexDigest } : {}),
      pulledAt: d.annotations?.[ANNOTATIONS.pulledAt] ?? '',
      blobs,
      size: blobs.reduce((s, b) => s + b.size, 0),
      bytes: stats.image(ref),
    });
  }
  return out.sort((a, b) => b.pulledAt.localeCompare(a.pulledAt));
}
