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
export async function buildMultiArchImage(dir: string): Promise<{ ref: string; amd64: string; arm64: string }> {
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
  return { ref: `${layout}:multi`, amd64: byTag('amd64').digest, arm64: byTag('arm64').digest };
}

/** skopeo copy to a registry: inside a test node, or on this machine's loopback. */
export async function pushImage(node: TestNode | undefined, ociRef: string, dest: string, opts: { creds?: string; all?: boolean } = {}): Promise<void> {
  const args = ['copy', '--dest-tls-verify=false', ...(opts.all ? ['--all'] : []), ...(opts.creds ? ['--dest-creds', opts.creds] : []), `oci:${ociRef}`, `docker://${dest}`];
  const [cmd, argv] = node ? node.exec('skopeo', args) : ['skopeo', args];
  await must(cmd, argv, { timeoutMs: 300_000 });
}
