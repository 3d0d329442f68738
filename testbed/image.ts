/** Test images built without Docker (umoci, or an OCI index written by hand) and pushed with skopeo. */
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { TestNode } from './netns.ts';
import { must } from './proc.ts';

/** An image of `layers` layers, each a directory with one file of `bytes` random bytes. */
export async function buildImage(dir: string, layers = 2, bytes = 200_000, opts: { arch?: string; tag?: string } = {}): Promise<string> {
  const layout = path.join(dir, 'layout');
  const tag = opts.tag ?? 'latest';
  await must('umoci', ['init', '--layout', layout]).catch(() => undefined);
  await must('umoci', ['new', '--image', `${layout}:${tag}`]);
  if (opts.arch) await must('umoci', ['config', '--image', `${layout}:${tag}`, '--architecture', opts.arch]);
  for (let i = 0; i < layers; i++) {
    const tree = path.join(dir, `${tag}-layer${i}`);
    mkdirSync(path.join(tree, 'data'), { recursive: true });
    writeFileSync(path.join(tree, 'data', `file${i}.bin`), randomBytes(bytes));
    await must('umoci', ['insert', '--image', `${layout}:${tag}`, tree, '/']);
  }
  return `${layout}:${tag}`;
}

interface LayoutIndex {
  manifests: { mediaType: string; digest: string; size: number; annotations?: Record<string, string>; platform?: unknown }[];
}

/** An OCI index over an amd64 and an arm64 image, as `<layout>:multi`; returns the layout ref. */
export async function buildMultiArchImage(dir: string): Promise<{ ref: string; index: string; amd64: string; arm64: string }> {
  const layout = path.join(dir, 'layout');
  await buildImage(dir, 1, 50_000, { arch: 'amd64', tag: 'amd64' });
  await buildImage(dir, 1, 50_000, { arch: 'arm64', tag: 'arm64' });
  const indexFile = path.join(layout, 'index.json');
  const idx = JSON.parse(readFileSync(indexFile, 'utf8')) as LayoutIndex;
  const byTag = (t: string) => idx.manifests.find((m) => m.annotations?.['org.opencontainers.image.ref.name'] === t)!;
  const entry = (t: string, architecture: string, variant?: string) => ({
    mediaType: byTag(t).mediaType,
    digest: byTag(t).digest,
    size: byTag(t).size,
    platform: { architecture, os: 'linux', ...(variant ? { variant } : {}) },
  });
  const index = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests: [entry('amd64', 'amd64'), entry('arm64', 'arm64', 'v8')] }));
  const digest = `sha256:${createHash('sha256').update(index).digest('hex')}`;
  writeFileSync(path.join(layout, 'blobs', 'sha256', digest.slice(7)), index);
  idx.manifests.push({ mediaType: 'application/vnd.oci.image.index.v1+json', digest, size: index.length, annotations: { 'org.opencontainers.image.ref.name': 'multi' } });
  writeFileSync(indexFile, JSON.stringify(idx));
  return { ref: `${layout}:multi`, index: digest, amd64: byTag('amd64').digest, arm64: byTag('arm64').digest };
}

/** skopeo copy to a registry: inside a test node, or on this machine's loopback. */
export async function pushImage(node: TestNode | undefined, ociRef: string, dest: string, opts: { creds?: string; all?: boolean } = {}): Promise<void> {
  const args = ['copy', '--dest-tls-verify=false', ...(opts.all ? ['--all'] : []), ...(opts.creds ? ['--dest-creds', opts.creds] : []), `oci:${ociRef}`, `docker://${dest}`];
  const [cmd, argv] = node ? node.exec('skopeo', args) : ['skopeo', args];
  await must(cmd, argv, { timeoutMs: 300_000 });
}

/**
 * An index as `docker buildx build --platform linux/amd64,linux/arm64 --attest ...` pushes
 * it: an amd64 and an arm64 image, each followed by its attestation manifest (platform
 * unknown/unknown, an in-toto layer, `vnd.docker.reference.*` annotations naming the image).
 */
export async function buildBuildxIndex(dir: string): Promise<{ ref: string; index: string; images: Record<'amd64' | 'arm64', string>; attestations: string[] }> {
  const layout = path.join(dir, 'layout');
  const multi = await buildMultiArchImage(dir);
  const blob = (b: Buffer) => {
    const d = `sha256:${createHash('sha256').update(b).digest('hex')}`;
    writeFileSync(path.join(layout, 'blobs', 'sha256', d.slice(7)), b);
    return { digest: d, size: b.length };
  };
  const top = JSON.parse(readFileSync(path.join(layout, 'blobs', 'sha256', multi.index.slice(7)), 'utf8')) as LayoutIndex;
  const manifests: unknown[] = [];
  const attestations: string[] = [];
  for (const image of top.manifests) {
    manifests.push(image);
    const statement = Buffer.from(
      JSON.stringify({ _type: 'https://in-toto.io/Statement/v0.1', predicateType: 'https://slsa.dev/provenance/v0.2', subject: [{ name: image.digest }], predicate: { builder: { id: 'test' } } }),
    );
    const layer = { mediaType: 'application/vnd.in-toto+json', ...blob(statement), annotations: { 'in-toto.io/predicate-type': 'https://slsa.dev/provenance/v0.2' } };
    const config = {
      mediaType: 'application/vnd.oci.image.config.v1+json',
      ...blob(Buffer.from(JSON.stringify({ architecture: 'unknown', os: 'unknown', config: {}, rootfs: { type: 'layers', diff_ids: [layer.digest] } }))),
    };
    const manifest = blob(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.manifest.v1+json', config, layers: [layer] })));
    attestations.push(manifest.digest);
    manifests.push({
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      ...manifest,
      annotations: { 'vnd.docker.reference.digest': image.digest, 'vnd.docker.reference.type': 'attestation-manifest' },
      platform: { architecture: 'unknown', os: 'unknown' },
    });
  }
  const index = blob(Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.oci.image.index.v1+json', manifests })));
  const indexFile = path.join(layout, 'index.json');
  const idx = JSON.parse(readFileSync(indexFile, 'utf8')) as LayoutIndex;
  idx.manifests.push({ mediaType: 'application/vnd.oci.image.index.v1+json', ...index, annotations: { 'org.opencontainers.image.ref.name': 'buildx' } });
  writeFileSync(indexFile, JSON.stringify(idx));
  return { ref: `${layout}:buildx`, index: index.digest, images: { amd64: multi.amd64, arm64: multi.arm64 }, attestations };
}
