/**
 * An image whose manifests are known while its blobs still download. The store server
 * offers it already, so containerd can take each blob the moment it lands, and Spegel
 * advertise it to the peers, instead of after the whole image: on a site where every
 * node waits for the one that downloads, that is the difference between one download
 * and one download plus a second transfer of the whole image.
 */
import { isDigest } from '../registry/digest.ts';

export interface PendingManifest {
  digest: string;
  mediaType: string;
  bytes: Buffer;
}

export class PendingImage {
  /** The reference as stored (registry/repository:tag or @digest). */
  readonly refName: string;
  /** What the reference names: the index, or the image manifest. */
  readonly top: PendingManifest;
  private readonly manifests: Map<string, PendingManifest>;
  private readonly blobs = new Map<string, { promise: Promise<boolean>; resolve: (landed: boolean) => void }>();

  /** `manifests` starts with the top one; `downloading` are the blobs not yet in the store. */
  constructor(refName: string, manifests: PendingManifest[], downloading: string[]) {
    this.refName = refName;
    this.top = manifests[0]!;
    this.manifests = new Map(manifests.map((m) => [m.digest, m]));
    for (const d of downloading) {
      let resolve!: (landed: boolean) => void;
      const promise = new Promise<boolean>((r) => (resolve = r));
      this.blobs.set(d, { promise, resolve });
    }
  }

  /** The manifest a registry request for `repository` (registry/repo) names: by tag (only this image's) or by digest. */
  manifest(repository: string, ref: string): PendingManifest | undefined {
    if (isDigest(ref)) return this.manifests.get(ref);
    return `${repository}:${ref}` === this.refName ? this.top : undefined;
  }

  /** Resolves true once the blob is in the store; false when it will not be (the pull failed); undefined when it is not part of this pull. */
  landing(digest: string): Promise<boolean> | undefined {
    return this.blobs.get(digest)?.promise;
  }

  landed(digest: string): void {
    this.blobs.get(digest)?.resolve(true);
  }

  /** The pull ended without the blobs still outstanding. */
  abandon(): void {
    for (const b of this.blobs.values()) b.resolve(false);
  }
}
