/**
 * The systemd-sysext image: a GPT disk image (Discoverable Disk Image) holding a /usr
 * partition (squashfs, xz) and its dm-verity hash partition, as Kairos requires
 * (systemd-sysext --image-policy=root=verity+absent:usr=verity+absent). The squashfs and the
 * hash tree are made here; systemd-repart only assembles the partition table. Everything is
 * derived from the content and SOURCE_DATE_EPOCH, so the same input gives the same bytes.
 */
import { createHash } from 'node:crypto';
import { cpSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Arch } from './arch.ts';
import type { GlibcRuntime } from './glibc.ts';
import { layOutAgent } from './install-tree.ts';
import { PackageError, render, requireTool, runTool } from './tools.ts';

const SYSEXT = path.resolve(import.meta.dirname, '../../sysext');
/** extension-release.<NAME>: an image file named kairos-spegel.sysext.raw matches it exactly (systemd >= 255). */
const EXTENSION_NAME = 'kairos-spegel';

export interface SysextImage {
  file: string;
  bytes: number;
  rootHash: string;
}

/** A UUID-formatted string from 32 hex digits. */
function uuid(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

function sha256(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** /usr as the image holds it: the agent, its extension-release and its units. */
function stageUsr(tree: string, arch: Arch, version: string, binary: string, glibc: GlibcRuntime): void {
  rmSync(tree, { recursive: true, force: true });
  layOutAgent(tree, '/usr', binary, glibc);

  const releaseDir = path.join(tree, 'usr/lib/extension-release.d');
  const release = path.join(releaseDir, `extension-release.${EXTENSION_NAME}`);
  mkdirSync(releaseDir, { recursive: true });
  writeFileSync(release, render(path.join(SYSEXT, 'extension-release.in'), { ARCHITECTURE: arch.systemd, VERSION: version }));
  // Accept the image under any file name (see sysext/extension-release.in).
  const setfattr = requireTool('setfattr', 'attr');
  try {
    runTool(setfattr, ['-n', 'user.extension-release.strict', '-v', '0', release]);
  } catch (err) {
    throw new PackageError(`cannot set a user xattr on ${release}: ${(err as Error).message}`, 'build on a file system with user xattrs (ext4, xfs, btrfs, tmpfs on Linux >= 6.6)');
  }

  // The units, with their .wants/ links and drop-ins, exactly as they are in sysext/units.
  cpSync(path.join(SYSEXT, 'units'), path.join(tree, 'usr/lib/systemd/system'), { recursive: true, verbatimSymlinks: true });
}

/**
 * squashfs with xz: within the 45 MB limit (BENCHMARKS.md; gzip comes to about 45 MB, zstd
 * is not enabled in every kernel), and a squashfs compressor distribution kernels enable
 * (Kairos long made its own recovery image an xz squashfs). The price is the first start
 * after boot, page cache cold: 1.5 s against 0.2 s with zstd, measured once on a 2-core
 * EPYC; later starts are not affected.
 */
function makeSquashfs(usr: string, out: string, epoch: number): void {
  rmSync(out, { force: true });
  const e = String(epoch);
  runTool(requireTool('mksquashfs', 'squashfs-tools'), [usr, out, '-noappend', '-comp', 'xz', '-all-root', '-all-time', e, '-mkfs-time', e, '-no-progress', '-quiet']);
}

/** The dm-verity hash tree of `data` in `out`; salt and superblock UUID derive from the data. */
function makeHashTree(data: string, out: string): string {
  rmSync(out, { force: true });
  const salt = sha256(readFileSync(data));
  const stdout = runTool(requireTool('veritysetup', 'cryptsetup-bin'), [
    'format',
    '--data-block-size=4096',
    '--hash-block-size=4096',
    `--salt=${salt}`,
    `--uuid=${uuid(sha256(`verity superblock ${salt}`))}`,
    data,
    out,
  ]);
  const rootHash = /^Root hash:\s+([0-9a-f]{64})$/m.exec(stdout)?.[1];
  if (rootHash === undefined) throw new PackageError(`veritysetup printed no root hash:\n${stdout}`, 'check the cryptsetup-bin version (Debian 12: 2.6.1)');
  return rootHash;
}

/** Builds dist/kairos-spegel-<version>-<arch>.sysext.raw; `work` is a scratch directory. */
export function buildSysext(opts: { arch: Arch; version: string; epoch: number; binary: string; glibc: GlibcRuntime; work: string; out: string }): SysextImage {
  const { arch, work } = opts;
  const tree = path.join(work, 'tree');
  stageUsr(tree, arch, opts.version, opts.binary, opts.glibc);

  const squashfs = path.join(work, 'usr.squashfs');
  const hashTree = path.join(work, 'usr.verity');
  makeSquashfs(path.join(tree, 'usr'), squashfs, opts.epoch);
  const rootHash = makeHashTree(squashfs, hashTree);

  const defs = path.join(work, 'repart.d');
  rmSync(defs, { recursive: true, force: true });
  mkdirSync(defs);
  const partitions: { template: string; vars: Record<string, string> }[] = [
    { template: '10-usr.conf', vars: { ARCHITECTURE: arch.systemd, SQUASHFS: squashfs, UUID: uuid(rootHash.slice(0, 32)) } },
    { template: '20-usr-verity.conf', vars: { ARCHITECTURE: arch.systemd, HASH_TREE: hashTree, UUID: uuid(rootHash.slice(32)) } },
  ];
  for (const p of partitions) writeFileSync(path.join(defs, p.template), render(path.join(SYSEXT, 'repart', `${p.template}.in`), p.vars));

  const tmp = `${opts.out}.tmp`;
  rmSync(tmp, { force: true });
  runTool(requireTool('systemd-repart', 'systemd'), [
    '--empty=create',
    '--size=auto',
    '--dry-run=no',
    `--definitions=${defs}`,
    // The disk GUID is derived from the seed; the partition UUIDs are set above.
    `--seed=${uuid(sha256(`kairos-spegel sysext ${rootHash}`))}`,
    tmp,
  ]);
  renameSync(tmp, opts.out);
  return { file: opts.out, bytes: statSync(opts.out).size, rootHash };
}
