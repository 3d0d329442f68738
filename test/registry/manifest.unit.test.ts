import { describe, expect, it } from 'vitest';
import { digestFromHex } from '../../src/registry/digest.ts';
import { hostPlatform, parseManifest, parsePlatform, selectPlatform, MEDIA_TYPES } from '../../src/registry/manifest.ts';

const d = (n: number) => digestFromHex(String(n).repeat(64).slice(0, 64))!;
const enc = (v: unknown) => Buffer.from(JSON.stringify(v));

describe('parseManifest', () => {
  it('reads the four manifest types', () => {
    const image = { schemaVersion: 2, config: { mediaType: 'c', digest: d(1), size: 2 }, layers: [{ mediaType: 'l', digest: d(2), size: 3 }] };
    expect(parseManifest(enc({ ...image, mediaType: MEDIA_TYPES.ociManifest }), undefined, 'x')).toMatchObject({ kind: 'image', layers: [{ size: 3 }] });
    expect(parseManifest(enc({ ...image, mediaType: MEDIA_TYPES.dockerManifest }), undefined, 'x').kind).toBe('image');
    // OCI allows the mediaType to be absent from the body: the header or the shape decides.
    expect(parseManifest(enc(image), MEDIA_TYPES.ociManifest, 'x').kind).toBe('image');
    const index = { schemaVersion: 2, manifests: [{ mediaType: MEDIA_TYPES.ociManifest, digest: d(3), size: 9, platform: { os: 'linux', architecture: 'amd64' } }] };
    expect(parseManifest(enc({ ...index, mediaType: MEDIA_TYPES.dockerList }), undefined, 'x').kind).toBe('index');
    expect(parseManifest(enc(index), undefined, 'x').kind).toBe('index');
  });
  it.each([
    ['not JSON', Buffer.from('{'), /not JSON/],
    ['schema 1', enc({ schemaVersion: 1 }), /schemaVersion 1 is not supported/],
    ['bad digest', enc({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: { mediaType: 'c', digest: 'md5:x', size: 1 }, layers: [] }), /config: digest "md5:x" is not a sha256 digest/],
    ['negative size', enc({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: { mediaType: 'c', digest: d(1), size: -1 }, layers: [] }), /config: size -1/],
    ['no layers', enc({ schemaVersion: 2, mediaType: MEDIA_TYPES.ociManifest, config: { mediaType: 'c', digest: d(1), size: 1 } }), /without layers/],
    ['artifact', enc({ schemaVersion: 2, mediaType: 'application/vnd.example+json' }), /is not an image manifest or index/],
  ])('rejects %s, saying where', (_n, bytes, msg) => {
    expect(() => parseManifest(bytes, undefined, 'reg/img@x')).toThrow(msg);
    expect(() => parseManifest(bytes, undefined, 'reg/img@x')).toThrow(/^reg\/img@x: /);
  });
});

describe('platforms', () => {
  const index = (...ps: [string, string?][]) =>
    ({
      kind: 'index',
      mediaType: MEDIA_TYPES.ociIndex,
      manifests: ps.map(([arch, variant], i) => ({ mediaType: MEDIA_TYPES.ociManifest, digest: d(i + 1), size: 1, platform: { os: 'linux', architecture: arch, ...(variant ? { variant } : {}) } })),
    }) as const;
  it('parses os/arch/variant', () => {
    expect(parsePlatform('linux/arm64/v8')).toEqual({ os: 'linux', architecture: 'arm64', variant: 'v8' });
    expect(parsePlatform('linux/x86_64')).toEqual({ os: 'linux', architecture: 'amd64' });
    expect(parsePlatform('linux')).toBeUndefined();
  });
  it('treats an arm64 entry without variant as v8, and prefers an exact match', () => {
    expect(selectPlatform(index(['amd64'], ['arm64']), { os: 'linux', architecture: 'arm64', variant: 'v8' }, 'x').digest).toBe(d(2));
    expect(selectPlatform(index(['arm64'], ['arm64', 'v8']), { os: 'linux', architecture: 'arm64', variant: 'v8' }, 'x').digest).toBe(d(2));
    expect(() => selectPlatform(index(['arm', 'v6']), { os: 'linux', architecture: 'arm', variant: 'v7' }, 'x')).toThrow(/no image for linux\/arm\/v7; it has linux\/arm\/v6/);
  });
  it('knows the host', () => {
    expect(hostPlatform().os).toBe('linux');
  });
});
