/** What `npm run package` builds (npm test runs it before the tests). */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pkg from '../package.json' with { type: 'json' };
import { must, run, type RunResult } from './proc.ts';

export const DIST = path.resolve(import.meta.dirname, '../dist');
export const VERSION = pkg.version;

export type NodeArch = 'amd64' | 'arm64';
/** systemd's name for each architecture (extension-release ARCHITECTURE=, partition types) */
export const SYSTEMD_ARCH = { amd64: 'x86-64', arm64: 'arm64' } as const;

function built(file: string): string {
  if (!existsSync(file)) throw new Error(`${file} is missing: run 'npm run package' first (npm test does)`);
  return file;
}

export function sysextImage(arch: NodeArch): string {
  return built(path.join(DIST, `kairos-spegel-${VERSION}-${arch}.sysext.raw`));
}

export function bundleLayout(): string {
  return built(path.join(DIST, 'kairos-spegel-bundle'));
}

interface Descriptor {
  mediaType: string;
  digest: string;
  platform?: { architecture: string; os: string; variant?: string };
}

/** Where a blob of an OCI layout is (the one npm run package writes, or one skopeo pulled). */
export function blobPath(layout: string, digest: string): string {
  return path.join(layout, 'blobs', ...digest.split(':'));
}

function ociBlob(layout: string, digest: string): Buffer {
  return readFileSync(blobPath(layout, digest));
}

/** The index of a single-index OCI layout, and the manifest and layer digest per architecture. */
export function ociImages(layout: string): { index: string; images: Map<string, { manifest: string; layer: string; platform: Descriptor['platform'] }> } {
  const top = JSON.parse(readFileSync(path.join(layout, 'index.json'), 'utf8')) as { manifests: Descriptor[] };
  const index = top.manifests[0]!.digest;
  const manifests = (JSON.parse(ociBlob(layout, index).toString()) as { manifests: Descriptor[] }).manifests;
  const images = new Map(
    manifests.map((m) => {
      const manifest = JSON.parse(ociBlob(layout, m.digest).toString()) as { layers: Descriptor[] };
      return [m.platform!.architecture, { manifest: m.digest, layer: manifest.layers[0]!.digest, platform: m.platform }] as const;
    }),
  );
  return { index, images };
}

/** Extracts the bundle image of `arch` from an OCI layout into `dir`, as kairos-agent does. */
export async function extractBundle(layout: string, arch: NodeArch, dir: string): Promise<void> {
  const image = ociImages(layout).images.get(arch);
  if (image === undefined) throw new Error(`${layout} has no ${arch} image`);
  mkdirSync(dir, { recursive: true });
  await must('tar', ['-xzf', blobPath(layout, image.layer), '-C', dir]);
}

/**
 * Runs `script` (sh) in a private mount namespace in which every file system is read-only
 * except `writable` (which must exist), so that a write anywhere else fails.
 */
export async function runWritableOnly(writable: string, script: string, env: NodeJS.ProcessEnv): Promise<RunResult> {
  const tmpMount = (await must('findmnt', ['-n', '-o', 'TARGET', '--target', tmpdir()])).trim();
  const readOnly = [...new Set(['/', tmpMount])].map((m) => `mount -o remount,bind,ro '${m}'`).join(' && ');
  return run('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `mount --bind "$WRITABLE" "$WRITABLE" && ${readOnly} && ${script}`], {
    env: { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', ...env, WRITABLE: writable },
  });
}

/**
 * Runs the bundle's run.sh as kairos-agent does (`/bin/sh -c ./run.sh` in the extracted
 * image, CONTAINERDIR and BUNDLE_TARGET set), installing under `root` (KAIROS_SPEGEL_ROOT),
 * with everything but `root` read-only.
 */
export async function runBundle(extracted: string, root: string, target = 'registry.example/kairos-spegel-bundle:test'): Promise<RunResult> {
  mkdirSync(root, { recursive: true });
  return runWritableOnly(root, 'cd "$CONTAINERDIR" && exec /bin/sh -c ./run.sh', { CONTAINERDIR: extracted, BUNDLE_TARGET: target, KAIROS_SPEGEL_ROOT: root });
}
