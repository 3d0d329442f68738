// npm run package: what Kairos nodes install, for amd64 and arm64 (README "Installing on Kairos").
//
//   dist/kairos-spegel-<version>-<arch>.sysext.raw   systemd-sysext image with dm-verity:
//                                                    `kairos-agent sysext install`
//   dist/kairos-spegel-bundle/                       OCI layout, an index of both arches tagged
//                                                    <version>: the `run://` bundle; push it with
//                                                    scripts/push-bundle.sh
//
// Builds both binaries first (scripts/build.mjs). Needs no root. Reproducible: file times
// are SOURCE_DATE_EPOCH, else the time of the last commit.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ARCHES } from './package/arch.ts';
import { bundleLayer } from './package/bundle.ts';
import { resolveGlibc } from './package/glibc.ts';
import { writeOciLayout, type LayoutImage } from './package/oci.ts';
import { buildSysext } from './package/sysext.ts';
import { PackageError } from './package/tools.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const DIST = path.join(ROOT, 'dist');

function sourceDateEpoch(): number {
  const fromEnv = process.env['SOURCE_DATE_EPOCH'];
  if (fromEnv !== undefined && /^\d+$/.test(fromEnv)) return Number(fromEnv);
  try {
    return Number(execFileSync('git', ['log', '-1', '--format=%ct'], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    throw new PackageError('no SOURCE_DATE_EPOCH and no git history to take the file times from', 'build from a git clone, or set SOURCE_DATE_EPOCH (seconds since 1970)');
  }
}

const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;

function main(): void {
  const version = (JSON.parse(readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  const epoch = sourceDateEpoch();
  const images: LayoutImage[] = [];
  for (const arch of ARCHES) {
    execFileSync(process.execPath, [path.join(ROOT, 'scripts/build.mjs'), '--arch', arch.buildArch], { cwd: ROOT, stdio: 'inherit' });
    const binary = path.join(ROOT, arch.binary);
    const glibc = resolveGlibc(binary, arch);
    const work = path.join(DIST, '.package', arch.name);
    mkdirSync(work, { recursive: true });

    const sysext = buildSysext({ arch, version, epoch, binary, glibc, work, out: path.join(DIST, `kairos-spegel-${version}-${arch.name}.sysext.raw`) });
    console.log(`built ${path.relative(ROOT, sysext.file)} (${mb(sysext.bytes)}, verity root hash ${sysext.rootHash}; glibc: ${glibc.libs.map((l) => l.name).join(' ')})`);
    images.push({ platform: arch.platform, layer: bundleLayer({ arch, version, epoch, binary, glibc, work }) });
  }
  const layout = writeOciLayout(path.join(DIST, 'kairos-spegel-bundle'), version, images, {
    'org.opencontainers.image.title': 'kairos-spegel bundle',
    'org.opencontainers.image.version': version,
  });
  const arches = layout.images.map((i) => `${i.platform.architecture} ${mb(i.layerBytes)}`).join(', ');
  console.log(`built ${path.relative(ROOT, layout.dir)} (OCI layout, index ${layout.index} tagged ${layout.tag}: ${arches})`);
}

try {
  main();
} catch (err) {
  if (!(err instanceof PackageError)) throw err;
  console.error(`package: ${err.message}\n  fix: ${err.fix}`);
  process.exitCode = 1;
}
