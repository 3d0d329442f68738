// Size of what Kairos nodes download: each sysext image (target, issue #5: at most 45 MB)
// with its two partitions, and each image of the bundle (its gzip layer), next to the binary
// they carry. Reads what `npm run package` built and writes the table to BENCHMARKS.md.
// With --baseline DIR (the dist/ of an earlier commit's `npm run package`), each sysext image
// is compared with that build's (issue #15: a change may grow it by at most 1 MB).
// Run: npm run bench:size [-- --baseline OLD/dist]
import { statSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { readGpt } from '../testbed/gpt.ts';
import { blobPath, bundleLayout, DIST, ociImages, sysextImage, VERSION, type NodeArch } from '../testbed/package.ts';
import { buildName, machine, writeSection } from './machine.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const LIMIT = 45e6;
const ARCHES: NodeArch[] = ['amd64', 'arm64'];
const BINARY: Record<NodeArch, string> = { amd64: 'kairos-spegel', arm64: 'kairos-spegel-arm64' };
const GROWTH_LIMIT = 1e6;
const mb = (bytes: number) => (bytes / 1e6).toFixed(1);
const { baseline } = parseArgs({ options: { baseline: { type: 'string' } } }).values;
const sizeIn = (dist: string, arch: NodeArch) => statSync(path.join(dist, path.basename(sysextImage(arch)))).size;

const layers = ociImages(bundleLayout()).images;
const rows = ARCHES.map((arch) => {
  const image = sysextImage(arch);
  const [usr, verity] = readGpt(image);
  const layer = layers.get(arch)!.layer;
  return {
    arch,
    sysext: statSync(image).size,
    usr: usr!.size,
    verity: verity!.size,
    bundle: statSync(blobPath(bundleLayout(), layer)).size,
    binary: statSync(path.join(DIST, BINARY[arch])).size,
    growth: baseline === undefined ? undefined : statSync(image).size - sizeIn(baseline, arch),
  };
});
const pass = rows.every((r) => r.sysext <= LIMIT && (r.growth ?? 0) <= GROWTH_LIMIT);
const signedKb = (bytes: number) => `${bytes >= 0 ? '+' : ''}${(bytes / 1e3).toFixed(0)} kB`;
const body = [
  '## Package size: what a node downloads',
  '',
  `Machine: ${machine()}. kairos-spegel ${VERSION}; MB = 10^6 bytes.`,
  'Command: `npm run bench:size` (bench/package-size.ts, after `npm run package`).',
  '',
  '| arch | `.sysext.raw` | usr partition (squashfs, xz) | verity partition | bundle layer (tar.gz) | binary (uncompressed) |',
  '|---|---|---|---|---|---|',
  ...rows.map((r) => `| ${r.arch} | ${mb(r.sysext)} MB | ${mb(r.usr)} MB | ${mb(r.verity)} MB | ${mb(r.bundle)} MB | ${mb(r.binary)} MB |`),
  '',
  ...(baseline === undefined
    ? []
    : [
        `Against the same images built at ${buildName(path.resolve(baseline))} (\`npm run bench:size -- --baseline OLD/dist\`): ${rows.map((r) => `${r.arch} ${signedKb(r.growth!)}`).join(', ')} (target: at most +1 MB each).`,
      ]),
  `Each \`.sysext.raw\` at most 45 MB${baseline === undefined ? '' : ' and at most 1 MB larger than the baseline'}: ${pass ? 'met' : 'NOT met'}. The usr partition holds the binary, the glibc it runs on, the launcher,`,
  'the units and the extension-release; the rest of the image is the partition table.',
].join('\n');
writeSection(path.join(ROOT, 'BENCHMARKS.md'), 'package-size', body);
process.stdout.write(`${body}\n`);
process.exitCode = pass ? 0 : 1;
