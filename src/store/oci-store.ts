/**
 * The image store: an OCI image layout (`oci-layout`, `index.json`, `blobs/sha256/`)
 * that skopeo and umoci read, plus `ingest/` for downloads in progress. A blob appears
 * under blobs/ only complete and verified (renamed in after fsync); index.json is
 * replaced atomically.
 */
import { digestFromHex, digestHex, digestOf, type Digest } from '../registry/digest.ts';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { AgentError, errnoCode } from '../errors.ts';
import { writeFileAtomic } from '../fs/atomic-write.ts';
import { pathExists } from '../fs/path-exists.ts';
import type { Descriptor } from '../registry/manifest.ts';
import { MEDIA_TYPES } from '../registry/manifest.ts';

export const ANNOTATIONS = {
  refName: 'org.opencontainers.image.ref.name',
  /** registry/repository[:tag]@digest of what was pulled. */
  image: 'io.kairos-spegel.image',
  pulledAt: 'io.kairos-spegel.pulled-at',
  /** The multi-platform index the image was chosen from (its blob is kept in the store). */
  indexDigest: 'io.kairos-spegel.index.digest',
  indexMediaType: 'io.kairos-spegel.index.media-type',
} as const;

export interface IndexJson {
  schemaVersion: 2;
  mediaType: string;
  manifests: Descriptor[];
}

export class OciStore {
  readonly dir: string;

  private constructor(dir: string) {
    this.dir = dir;
  }

  static async open(dir: string): Promise<OciStore> {
    const s = new OciStore(dir);
    await mkdir(path.join(dir, 'blobs', 'sha256'), { recursive: true });
    await mkdir(path.join(dir, 'ingest'), { recursive: true });
    const layout = path.join(dir, 'oci-layout');
    if (!(await pathExists(layout))) await writeFileAtomic(layout, '{"imageLayoutVersion":"1.0.0"}');
    if (!(await pathExists(path.join(dir, 'index.json')))) await s.writeIndex({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociIndex, manifests: [] });
    return s;
  }

  /** The store at `dir` for reading only (status, images): nothing is created; undefined when there is none yet. */
  static async existing(dir: string): Promise<OciStore | undefined> {
    return (await pathExists(path.join(dir, 'index.json'))) ? new OciStore(dir) : undefined;
  }

  /** Whether the stored blob's bytes hash to its digest (false when it is missing). */
  async verifyBlob(digest: Digest): Promise<boolean> {
    const hash = createHash('sha256');
    try {
      await pipeline(createReadStream(this.blobPath(digest)), hash);
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return false;
      throw err;
    }
    return digestFromHex(hash.digest('hex')) === digest;
  }

  blobPath(digest: Digest): string {
    return path.join(this.dir, 'blobs', 'sha256', digestHex(digest));
  }

  ingestPath(digest: Digest): string {
    return path.join(this.dir, 'ingest', `${digestHex(digest)}.partial`);
  }

  async hasBlob(digest: Digest, size?: number): Promise<boolean> {
    try {
      const s = await stat(this.blobPath(digest));
      return size === undefined || s.size === size;
    } catch (err) {
      if (errnoCode(err) === 'ENOENT') return false;
      throw err;
    }
  }

  async readBlob(digest: Digest): Promise<Buffer> {
    return readFile(this.blobPath(digest));
  }

  /** Stores small content (manifests) after checking it against its digest. */
  async putBlob(digest: Digest, bytes: Uint8Array): Promise<void> {
    const actual = digestOf(bytes);
    if (actual !== digest) throw new AgentError('E_DIGEST', `refusing to store content as ${digest}: it hashes to ${actual}`);
    // Small: the stored copy is compared whole, so a damaged one is replaced on every run.
    const stored = await readFile(this.blobPath(digest)).catch(() => undefined);
    if (stored?.equals(bytes)) return;
    await writeFileAtomic(this.blobPath(digest), bytes, 0o644);
  }

  /** Moves a verified download from ingest/ into blobs/, durably. */
  async commitIngest(digest: Digest): Promise<void> {
    const partial = this.ingestPath(digest);
    const fh = await open(partial, 'r+');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
    await rename(partial, this.blobPath(digest));
    const dh = await open(path.dirname(this.blobPath(digest)), 'r');
    try {
      await dh.sync();
    } finally {
      await dh.close();
    }
  }

  async readIndex(): Promise<IndexJson> {
    const file = path.join(this.dir, 'index.json');
    try {
      const json = JSON.parse(await readFile(file, 'utf8')) as IndexJson;
      if (!Array.isArray(json.manifests)) throw new Error('no manifests list');
      return json;
    } catch (err) {
      throw new AgentError('E_STORE', `${file} is damaged: ${(err as Error).message}`, { hint: 'move the store away; the next prepull rebuilds it' });
    }
  }

  private async writeIndex(index: IndexJson): Promise<void> {
    await writeFileAtomic(path.join(this.dir, 'index.json'), `${JSON.stringify(index, null, 2)}\n`);
  }

  /** Records an image under `ref`, replacing what that ref named before. */
  async putImage(ref: string, manifest: Descriptor, annotations: Record<string, string>): Promise<void> {
    const index = await this.readIndex();
    index.manifests = index.manifests.filter((d) => d.annotations?.[ANNOTATIONS.refName] !== ref);
    index.manifests.push({ mediaType: manifest.mediaType, digest: manifest.digest, size: manifest.size, annotations: { ...annotations, [ANNOTATIONS.refName]: ref } });
    await this.writeIndex(index);
  }

  async removeImages(refs: string[]): Promise<void> {
    const index = await this.readIndex();
    index.manifests = index.manifests.filter((d) => !refs.includes(d.annotations?.[ANNOTATIONS.refName] ?? ''));
    await this.writeIndex(index);
  }

  async listBlobs(): Promise<Digest[]> {
    return (await readdir(path.join(this.dir, 'blobs', 'sha256'))).flatMap((n) => digestFromHex(n) ?? []);
  }

  async removeBlob(digest: Digest): Promise<void> {
    await unlink(this.blobPath(digest)).catch((err: unknown) => {
      if (errnoCode(err) !== 'ENOENT') throw err;
    });
  }
}
