/**
 * Content digests, as OCI writes them. Only sha256 is accepted (what every registry and
 * containerd use for images); a `Digest` value has been checked once, where it entered
 * (a manifest, a reference, a hash we computed), so nothing downstream re-checks it.
 */
import { createHash } from 'node:crypto';

export type Digest = `sha256:${string}` & { readonly __brand: 'Digest' };

const PATTERN = /^sha256:[a-f0-9]{64}$/;
const HEX = /^[a-f0-9]{64}$/;

export function isDigest(value: unknown): value is Digest {
  return typeof value === 'string' && PATTERN.test(value);
}

/** The digest of 64 hex digits of sha256 (a file name in blobs/sha256, a hash we finished). */
export function digestFromHex(hex: string): Digest | undefined {
  return HEX.test(hex) ? (`sha256:${hex}` as Digest) : undefined;
}

/** The digest of bytes in memory (manifests, configs). */
export function digestOf(bytes: Uint8Array | string): Digest {
  return `sha256:${createHash('sha256').update(bytes).digest('hex')}` as Digest;
}

/** The hex part: a blob's file name. */
export function digestHex(d: Digest): string {
  return d.slice('sha256:'.length);
}
