/**
 * The four manifest types a registry serves (OCI index and manifest, Docker manifest
 * list and v2 manifest), parsed from untrusted bytes into typed values once, and the
 * platform choice within an index.
 */
import { isDigest, type Digest } from './digest.ts';
import { RegistryError } from './errors.ts';

export const MEDIA_TYPES = {
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
} as const;

export const MANIFEST_ACCEPT = Object.values(MEDIA_TYPES).join(', ');

/** Whether a descriptor names a manifest or an index (fetched from /manifests/, not /blobs/). */
export function isManifestMediaType(mediaType: string): boolean {
  return (Object.values(MEDIA_TYPES) as string[]).includes(mediaType);
}

const INDEX_TYPES: readonly string[] = [MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerList];
const IMAGE_TYPES: readonly string[] = [MEDIA_TYPES.ociManifest, MEDIA_TYPES.dockerManifest];

/** Manifests are small; anything bigger is not one (and must not be buffered). */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;
const MAX_BLOB_BYTES = 2 ** 45;

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

export interface Descriptor {
  mediaType: string;
  digest: Digest;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
}

export type Manifest = { kind: 'index'; mediaType: string; manifests: Descriptor[] } | { kind: 'image'; mediaType: string; config: Descriptor; layers: Descriptor[] };

type Json = Record<string, unknown>;

function descriptor(v: unknown, where: string, field: string): Descriptor {
  const bad = (why: string) => new RegistryError('E_MANIFEST', `${where}: ${field}: ${why}`);
  if (typeof v !== 'object' || v === null) throw bad('expected a descriptor object');
  const d = v as Json;
  if (typeof d['mediaType'] !== 'string' || d['mediaType'] === '') throw bad('mediaType missing');
  if (!isDigest(d['digest'])) throw bad(`digest ${JSON.stringify(d['digest'])} is not a sha256 digest`);
  if (typeof d['size'] !== 'number' || !Number.isSafeInteger(d['size']) || d['size'] < 0 || d['size'] > MAX_BLOB_BYTES) throw bad(`size ${JSON.stringify(d['size'])} is not a valid size`);
  const out: Descriptor = { mediaType: d['mediaType'], digest: d['digest'], size: d['size'] };
  const p = d['platform'];
  if (typeof p === 'object' && p !== null) {
    const pj = p as Json;
    if (typeof pj['os'] !== 'string' || typeof pj['architecture'] !== 'string') throw bad('platform needs os and architecture');
    out.platform = { os: pj['os'], architecture: pj['architecture'], ...(typeof pj['variant'] === 'string' && pj['variant'] !== '' ? { variant: pj['variant'] } : {}) };
  }
  if (typeof d['annotations'] === 'object' && d['annotations'] !== null) out.annotations = d['annotations'] as Record<string, string>;
  return out;
}

/** Parses manifest bytes; `where` names the source in errors (e.g. the image and digest). */
export function parseManifest(bytes: Uint8Array, contentType: string | undefined, where: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    throw new RegistryError('E_MANIFEST', `${where}: not JSON`);
  }
  if (typeof json !== 'object' || json === null) throw new RegistryError('E_MANIFEST', `${where}: not a JSON object`);
  const m = json as Json;
  if (m['schemaVersion'] !== 2) throw new RegistryError('E_MANIFEST', `${where}: schemaVersion ${JSON.stringify(m['schemaVersion'])} is not supported (only 2)`);
  const bodyType = typeof m['mediaType'] === 'string' ? m['mediaType'] : undefined;
  const headerType = contentType?.split(';')[0]?.trim();
  // The body's mediaType wins; OCI allows it to be absent, then the header and the shape decide.
  const mediaType = bodyType ?? (headerType && [...INDEX_TYPES, ...IMAGE_TYPES].includes(headerType) ? headerType : Array.isArray(m['manifests']) ? MEDIA_TYPES.ociIndex : MEDIA_TYPES.ociManifest);
  if (INDEX_TYPES.includes(mediaType)) {
    if (!Array.isArray(m['manifests'])) throw new RegistryError('E_MANIFEST', `${where}: index without manifests`);
    return { kind: 'index', mediaType, manifests: m['manifests'].map((d, i) => descriptor(d, where, `manifests[${i}]`)) };
  }
  if (IMAGE_TYPES.includes(mediaType)) {
    if (!Array.isArray(m['layers'])) throw new RegistryError('E_MANIFEST', `${where}: image manifest without layers`);
    return { kind: 'image', mediaType, config: descriptor(m['config'], where, 'config'), layers: m['layers'].map((d, i) => descriptor(d, where, `layers[${i}]`)) };
  }
  throw new RegistryError('E_MANIFEST', `${where}: media type ${mediaType} is not an image manifest or index (schema 1 and artifacts are not supported)`);
}

const ARCH_ALIASES: Record<string, string> = { x86_64: 'amd64', x64: 'amd64', aarch64: 'arm64' };

function normalizeArch(a: string): string {
  return ARCH_ALIASES[a] ?? a;
}

/** "linux/arm64/v8" → platform; throws a usage error naming the expected form. */
export function parsePlatform(text: string): Platform | undefined {
  const [os, architecture, variant, ...rest] = text.split('/');
  if (!os || !architecture || rest.length > 0) return undefined;
  return { os, architecture: normalizeArch(architecture), ...(variant ? { variant } : {}) };
}

/** The platform of the machine the agent runs on. */
export function hostPlatform(): Platform {
  const arch = normalizeArch(process.arch);
  return arch === 'arm64' ? { os: 'linux', architecture: 'arm64', variant: 'v8' } : arch === 'arm' ? { os: 'linux', architecture: 'arm', variant: 'v7' } : { os: 'linux', architecture: arch };
}

export function formatPlatform(p: Platform): string {
  return `${p.os}/${p.architecture}${p.variant ? `/${p.variant}` : ''}`;
}

function matches(have: Platform, want: Platform): 'exact' | 'compatible' | false {
  if (have.os !== want.os || normalizeArch(have.architecture) !== want.architecture) return false;
  if (have.variant === want.variant) return 'exact';
  // arm64 images often omit the variant; it means v8 (containerd's platform matcher agrees).
  if (want.architecture === 'arm64' && (have.variant ?? 'v8') === (want.variant ?? 'v8')) return 'compatible';
  if (want.variant === undefined) return 'compatible';
  return false;
}

/** The index entry for `want`: an exact variant match first, else a compatible one. */
export function selectPlatform(index: Extract<Manifest, { kind: 'index' }>, want: Platform, where: string): Descriptor {
  const candidates = index.manifests.filter((d) => d.platform !== undefined && IMAGE_TYPES.includes(d.mediaType));
  const exact = candidates.find((d) => matches(d.platform!, want) === 'exact');
  const found = exact ?? candidates.find((d) => matches(d.platform!, want) === 'compatible');
  if (found) return found;
  const available = candidates.map((d) => formatPlatform(d.platform!)).filter((p) => !p.startsWith('unknown/'));
  throw new RegistryError('E_PLATFORM', `${where} has no image for ${formatPlatform(want)}; it has ${available.join(', ') || 'no platform entries'}`, `choose one with --platform`);
}
