/**
 * From a reference to verified manifests. A tag is resolved once, by a HEAD at the
 * upstream registry (about a kilobyte), because a peer can lie about what a tag means
 * but not about a digest; through the mirror only when configured. From then on
 * everything is fetched by digest and checked against it.
 */
import { digestOf, isDigest, type Digest } from '../registry/digest.ts';
import { errorMessage } from '../errors.ts';
import { RegistryError, isRegistryError } from '../registry/errors.ts';
import { isManifestMediaType, MANIFEST_ACCEPT, MAX_MANIFEST_BYTES, parseManifest, type Descriptor, type Manifest } from '../registry/manifest.ts';
import { formatImageRef, type ImageRef } from '../registry/reference.ts';
import { sourceTarget, type Source } from '../registry/source.ts';
import type { OciStore } from '../store/oci-store.ts';
import { walkSources, type WalkContext } from './source-walker.ts';

export interface FetchedManifest {
  digest: Digest;
  mediaType: string;
  bytes: Buffer;
  manifest: Manifest;
  /** Who served it; undefined when the store already held it. */
  source?: Source;
}

/** A manifest request at one source: its whole answer within `deadlineMs`, at most MAX_MANIFEST_BYTES. */
function askManifest(s: Source, repository: string, ref: string, method: 'GET' | 'HEAD', what: string, deadlineMs: number, signal: AbortSignal | undefined) {
  return s.transport.fetch({
    ...sourceTarget(s, repository, 'manifests', ref),
    method,
    what: `${s.origin}: ${what}`,
    headers: { accept: MANIFEST_ACCEPT },
    limit: MAX_MANIFEST_BYTES,
    deadlineMs,
    ...(signal ? { signal } : {}),
  });
}

/** HEAD manifests/<tag> at one source: the digest it names. */
async function headTag(s: Source, ref: ImageRef, deadlineMs: number, signal?: AbortSignal): Promise<Digest> {
  const head = await askManifest(s, ref.repository, ref.tag!, 'HEAD', formatImageRef(ref), deadlineMs, signal);
  const digest = head.headers['docker-content-digest'];
  if (isDigest(digest)) return digest;
  // Some registries omit the header on HEAD: hash the manifest itself.
  const get = await askManifest(s, ref.repository, ref.tag!, 'GET', formatImageRef(ref), deadlineMs, signal);
  return digestOf(get.body);
}

export interface ResolveOptions {
  resolveViaMirror: boolean;
}

/** The digest a reference names, and who said so. */
export async function resolveDigest(ctx: WalkContext, ref: ImageRef, opts: ResolveOptions): Promise<{ digest: Digest; by: string }> {
  if (ref.digest) return { digest: ref.digest, by: 'reference' };
  const upstream = ctx.sources.find((s) => s.role === 'upstream');
  let upstreamError: string | undefined;
  if (upstream && ctx.policy.mode !== 'never') {
    try {
      return { digest: await headTag(upstream, ref, ctx.deadlineMs, ctx.signal), by: upstream.origin };
    } catch (err) {
      // Only an unreachable registry lets the mirror answer instead; a "no such tag" is final.
      if (!isRegistryError(err, 'E_NETWORK', 'E_RATE_LIMITED', 'E_HTTP')) throw err;
      upstreamError = errorMessage(err);
      ctx.log.warn({ upstream: upstream.origin, reason: upstreamError }, 'the upstream registry cannot resolve the tag');
    }
  }
  if (opts.resolveViaMirror) {
    for (const s of ctx.sources.filter((x) => x.role === 'mirror' && x.host.capabilities.has('resolve'))) {
      try {
        const digest = await headTag(s, ref, ctx.deadlineMs, ctx.signal);
        ctx.log.warn({ mirror: s.origin, digest }, 'tag resolved by the mirror: a peer could lie about tags; pin a digest to be sure');
        return { digest, by: s.origin };
      } catch (err) {
        ctx.log.debug({ mirror: s.origin, reason: errorMessage(err) }, 'mirror could not resolve the tag');
      }
    }
  }
  const why = upstreamError ?? (ctx.policy.mode === 'never' ? 'the upstream registry may not be used (--upstream never)' : 'there is no upstream registry');
  throw new RegistryError(
    'E_NOT_FOUND',
    `cannot resolve ${formatImageRef(ref)} to a digest: ${why}${opts.resolveViaMirror ? ', and no mirror resolved it' : ''}`,
    'use a digest reference (image@sha256:...), allow the upstream, or set kairos-spegel.pull.resolve_tags_via_mirror: true',
  );
}

/** GET manifests/<digest> from the sources, verified against the digest. */
export async function fetchManifest(ctx: WalkContext, ref: ImageRef, digest: Digest, onBytes: (s: Source, n: number) => void): Promise<FetchedManifest> {
  const what = `manifest ${digest} of ${formatImageRef({ ...ref, digest: undefined })}`;
  return walkSources(ctx, what, async (s) => {
    if (!s.host.capabilities.has('pull')) throw new RegistryError('E_NOT_FOUND', `${s.origin} has no pull capability`);
    const { body: bytes, headers } = await askManifest(s, ref.repository, digest, 'GET', what, ctx.deadlineMs, ctx.signal);
    onBytes(s, bytes.length);
    const actual = digestOf(bytes);
    if (actual !== digest) throw new RegistryError('E_DIGEST', `${s.origin} sent a manifest that hashes to ${actual}, not ${digest}`);
    const manifest = parseManifest(bytes, headers['content-type'], `${what} from ${s.origin}`);
    return { digest, mediaType: manifest.mediaType, bytes, manifest, source: s };
  });
}

/**
 * Everything an index names besides the chosen platform's image: the other platforms'
 * manifests, attestation manifests (platform unknown/unknown), nested indexes, and the
 * config of each of those image manifests. containerd 2 fetches all of them by default
 * (`ctr content fetch` and `ctr images pull` without --skip-metadata, and so a peer's pull
 * through Spegel), so a node that seeds or serves the image must hold them. Their layers
 * (in-toto statements, other platforms' file systems) are not fetched: nobody asks.
 */
export interface IndexMetadata {
  /** Manifests and nested indexes, verified. */
  manifests: FetchedManifest[];
  /** Blobs they name that a metadata fetch takes too: each image manifest's config, and index entries that are not manifests. */
  blobs: Descriptor[];
}

/** Bounds the walk: real indexes name tens of manifests, not thousands. */
const MAX_INDEX_ENTRIES = 1024;

export async function fetchIndexMetadata(ctx: WalkContext, ref: ImageRef, index: FetchedManifest, chosen: string, store: OciStore, onBytes: (s: Source, n: number) => void): Promise<IndexMetadata> {
  const out: IndexMetadata = { manifests: [], blobs: [] };
  const seen = new Set([index.digest, chosen]);
  // Level by level, each level's manifests at once: an index names them all up front.
  let level: Descriptor[] = index.manifest.kind === 'index' ? index.manifest.manifests : [];
  while (level.length > 0) {
    const wanted: Descriptor[] = [];
    for (const d of level) {
      if (seen.has(d.digest)) continue;
      seen.add(d.digest);
      if (seen.size > MAX_INDEX_ENTRIES) throw new RegistryError('E_MANIFEST', `${formatImageRef(ref)}: the index names more than ${MAX_INDEX_ENTRIES} manifests`);
      if (!isManifestMediaType(d.mediaType)) out.blobs.push(d);
      else if (d.size > MAX_MANIFEST_BYTES)
        throw new RegistryError('E_MANIFEST', `${formatImageRef(ref)}: index entry ${d.digest} claims ${d.size} bytes; a manifest is at most ${MAX_MANIFEST_BYTES}`);
      else wanted.push(d);
    }
    const fetched = await Promise.all(wanted.map(async (d) => (await storedManifest(store, d)) ?? (await fetchManifest(ctx, ref, d.digest, onBytes))));
    out.manifests.push(...fetched);
    out.blobs.push(...fetched.flatMap((m) => (m.manifest.kind === 'image' ? [m.manifest.config] : [])));
    level = fetched.flatMap((m) => (m.manifest.kind === 'index' ? m.manifest.manifests : []));
  }
  return out;
}

/** A manifest an earlier pull already stored (blobs are verified before they are stored). */
async function storedManifest(store: OciStore, d: Descriptor): Promise<FetchedManifest | undefined> {
  if (!(await store.hasBlob(d.digest, d.size))) return undefined;
  const bytes = await store.readBlob(d.digest);
  return { digest: d.digest, mediaType: d.mediaType, bytes, manifest: parseManifest(bytes, d.mediaType, `${store.dir} ${d.digest}`) };
}
