/**
 * An OCI image layout (image-spec v1.1) holding one image index with an image per platform,
 * each a single gzip layer. Written directly, without Docker: skopeo copies it anywhere
 * (`skopeo copy --all oci:DIR:TAG docker://...`). JSON and gzip are deterministic, so the
 * same layers give the same digests.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

const MEDIA = {
  index: 'application/vnd.oci.image.index.v1+json',
  manifest: 'application/vnd.oci.image.manifest.v1+json',
  config: 'application/vnd.oci.image.config.v1+json',
  layer: 'application/vnd.oci.image.layer.v1.tar+gzip',
};

export interface Platform {
  architecture: string;
  os: string;
  variant?: string;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export interface LayoutImage {
  platform: Platform;
  /** the layer, an uncompressed tar */
  layer: Buffer;
}

export interface WrittenLayout {
  dir: string;
  tag: string;
  index: string;
  images: { platform: Platform; manifest: string; layerBytes: number }[];
}

const sha256 = (data: Buffer) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

/** Writes the layout to `dir` (replacing it), with the index tagged `tag`. */
export function writeOciLayout(dir: string, tag: string, images: LayoutImage[], annotations: Record<string, string>): WrittenLayout {
  const tmp = `${dir}.tmp`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(path.join(tmp, 'blobs/sha256'), { recursive: true });
  const blob = (mediaType: string, data: Buffer): Descriptor => {
    const digest = sha256(data);
    writeFileSync(path.join(tmp, 'blobs/sha256', digest.slice('sha256:'.length)), data);
    return { mediaType, digest, size: data.length };
  };
  const json = (value: unknown) => Buffer.from(JSON.stringify(value));

  const written: WrittenLayout['images'] = [];
  const manifests = images.map(({ platform, layer }) => {
    const gz = blob(MEDIA.layer, gzipSync(layer));
    const config = blob(MEDIA.config, json({ ...platform, config: {}, rootfs: { type: 'layers', diff_ids: [sha256(layer)] } }));
    const manifest = blob(MEDIA.manifest, json({ schemaVersion: 2, mediaType: MEDIA.manifest, config, layers: [gz] }));
    written.push({ platform, manifest: manifest.digest, layerBytes: gz.size });
    return { ...manifest, platform };
  });
  const index = blob(MEDIA.index, json({ schemaVersion: 2, mediaType: MEDIA.index, manifests, annotations }));

  writeFileSync(path.join(tmp, 'oci-layout'), JSON.stringify({ imageLayoutVersion: '1.0.0' }));
  writeFileSync(path.join(tmp, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [{ ...index, annotations: { 'org.opencontainers.image.ref.name': tag } }] }));
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
  return { dir, tag, index: index.digest, images: written };
}
