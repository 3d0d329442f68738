/**
 * Hostile layers: each is rejected naming the entry (and the partial staging removed),
 * or handled inside the rootfs; afterwards nothing outside the rootfs has changed.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.ts';
import { listImages } from '../../src/store/images.ts';
import { OciStore } from '../../src/store/oci-store.ts';
import { TransferStats } from '../../src/store/transfer-stats.ts';
import { unpackImage } from '../../src/unpack/unpack-image.ts';
import { paxRecord, rawTar, sealHeader, writeImage, type LayerSpec, type RawEntry } from '../../testbed/oci-layout.ts';
import { must } from '../../testbed/proc.ts';
import { tempDir } from '../../testbed/tmp.ts';

const log = createLogger({ level: 'silent', pretty: false });
const base: RawEntry[] = [
  { name: 'etc/', type: 'dir' },
  { name: 'etc/hostname', data: 'node\n' },
  { name: 'usr/', type: 'dir' },
  { name: 'usr/lib/', type: 'dir' },
  { name: 'lib', type: 'symlink', linkname: 'usr/lib' },
  { name: 'opt/', type: 'dir' },
  { name: 'opt/lower', data: 'from the base layer\n' },
  { name: 'opt/keep/', type: 'dir' },
  { name: 'opt/keep/key', data: 'a lower-layer secret\n' },
];

/** The directory next to the rootfs that no layer may touch (its mtime included). */
const OUTSIDE = path.join(tempDir('ks-hostile-outside-'), 'outside');
mkdirSync(OUTSIDE);
writeFileSync(path.join(OUTSIDE, 'victim'), 'do not touch\n');
const outsideMtime = () => statSync(OUTSIDE).mtimeMs;
const OUTSIDE_MTIME = outsideMtime();

/**
 * A one-entry tar whose header says GNU ("ustar  \0") but carries a ustar prefix where GNU
 * keeps atime and ctime, as Go's archive/tar before 1.8 wrote it (golang/go#12594).
 * `gnuTimes`: valid octal times there instead (a real GNU header).
 */
function gnuHeaderWithPrefix(prefix: string, name: string, gnuTimes: boolean): LayerSpec {
  const t = Buffer.from(rawTar([{ name, data: 'x' }]));
  t.write('ustar  \0', 257, 'latin1');
  t.fill(0, 345, 500);
  if (gnuTimes) {
    t.write('00000000000\0', 345, 'latin1');
    t.write('00000000000\0', 357, 'latin1');
  } else t.write(prefix, 345, 'latin1');
  sealHeader(t);
  return { tar: t, compression: 'none' };
}

/** Everything in `dir` except the stagings: path, type, content hash, link target. */
function snapshot(dir: string, skip: (p: string) => boolean): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    const abs = path.join(dir, rel);
    if (rel && skip(abs)) return;
    const st = lstatSync(abs);
    out[rel] = st.isDirectory() ? `dir ${st.mode}` : st.isSymbolicLink() ? `link ${readlinkSync(abs)}` : `file ${st.mode} ${createHash('sha256').update(readFileSync(abs)).digest('hex')}`;
    if (st.isDirectory()) for (const n of readdirSync(abs)) walk(path.join(rel, n));
  };
  walk('');
  return out;
}

interface Case {
  name: string;
  layer: LayerSpec;
  /** Rejected with this message, or handled (undefined) with `check` on the rootfs. */
  rejected?: RegExp;
  check?: (rootfs: string) => void;
}

const tar = (entries: RawEntry[], compression: LayerSpec['compression'] = 'gzip'): LayerSpec => ({ tar: rawTar(entries), compression });

const CASES: Case[] = [
  { name: '../ in a path', layer: tar([{ name: '../../pwned-dotdot', data: 'x' }]), rejected: /entry "..\/..\/pwned-dotdot".*climbs out with "\.\."/ },
  {
    // As containerd and umoci read it: "/" is the rootfs' root, never the host's.
    name: 'an absolute path',
    layer: tar([{ name: '/tmp/pwned-absolute', data: 'x' }]),
    check: (r) => expect(readFileSync(path.join(r, 'tmp/pwned-absolute'), 'utf8')).toBe('x'),
  },
  { name: '../ through a PAX path record', layer: tar([{ name: 'innocent', data: 'x', pax: { path: 'a/../../pwned-pax' } }]), rejected: /"a\/\.\.\/\.\.\/pwned-pax".*climbs out/ },
  {
    name: 'a symlink to / and a file written through it',
    layer: tar([
      { name: 'evil', type: 'symlink', linkname: '/' },
      { name: 'evil/tmp/pwned-through-root-link', data: 'x' },
    ]),
    check: (r) => expect(readFileSync(path.join(r, 'tmp/pwned-through-root-link'), 'utf8')).toBe('x'),
  },
  {
    name: 'a symlink chain climbing out',
    layer: tar([
      { name: 'a', type: 'symlink', linkname: 'b' },
      { name: 'b', type: 'symlink', linkname: 'c/../../../../..' },
      { name: 'c/', type: 'dir' },
      { name: 'a/pwned-chain', data: 'x' },
    ]),
    check: (r) => expect(existsSync(path.join(r, 'pwned-chain'))).toBe(true),
  },
  {
    name: 'a symlink loop',
    layer: tar([
      { name: 'l1', type: 'symlink', linkname: 'l2' },
      { name: 'l2', type: 'symlink', linkname: 'l1' },
      { name: 'l1/pwned-loop', data: 'x' },
    ]),
    rejected: /entry "l1\/pwned-loop": more than 40 symlinks/,
  },
  { name: 'a hard link to outside with ..', layer: tar([{ name: 'pwned-hl', type: 'hardlink', linkname: '../../../etc/passwd' }]), rejected: /entry "pwned-hl" \(link target\).*climbs out/ },
  {
    name: "a hard link to an absolute path the image does not have (never the host's)",
    layer: tar([{ name: 'pwned-hl-abs', type: 'hardlink', linkname: '/etc/shadow' }]),
    rejected: /hard link target "\/etc\/shadow" does not exist in the image/,
  },
  { name: 'a hard link to a directory', layer: tar([{ name: 'pwned-hl-dir', type: 'hardlink', linkname: 'usr/lib' }]), rejected: /hard link to a directory/ },
  { name: 'a whiteout with ../', layer: tar([{ name: '../.wh.victim', data: '' }]), rejected: /climbs out/ },
  { name: 'a whiteout of ..', layer: tar([{ name: 'opt/.wh..', data: '' }]), rejected: /whiteout of "\."/ },
  {
    name: 'an opaque marker at the root',
    layer: tar([
      { name: '.wh..wh..opq', data: '' },
      { name: 'fresh', data: 'only this\n' },
    ]),
    check: (r) => expect(readdirSync(r).sort()).toEqual(['fresh']),
  },
  {
    // The directory's mtime is applied when every layer is in, by its path: a later entry
    // that replaced it with a symlink to a host directory must not lead the mtime there.
    name: 'a directory replaced by a symlink to a host directory, in the same layer',
    layer: tar([
      { name: 'stamp/', type: 'dir' },
      { name: 'stamp', type: 'symlink', linkname: OUTSIDE },
    ]),
    check: (r) => {
      expect(lstatSync(path.join(r, 'stamp')).isSymbolicLink()).toBe(true);
      expect(outsideMtime()).toBe(OUTSIDE_MTIME);
    },
  },
  {
    // As containerd and umoci apply it: the directory holds this layer's entries only, at any depth.
    name: 'an opaque marker under a directory this layer also lists',
    layer: tar([
      { name: 'opt/keep/', type: 'dir' },
      { name: 'opt/keep/new', data: 'this layer\n' },
      { name: 'usr/', type: 'dir' },
      { name: 'usr/.wh..wh..opq', data: '' },
      { name: 'opt/.wh..wh..opq', data: '' },
    ]),
    check: (r) => {
      expect(readdirSync(path.join(r, 'opt')).sort()).toEqual(['keep']);
      expect(readdirSync(path.join(r, 'opt/keep'))).toEqual(['new']);
      expect(readdirSync(path.join(r, 'usr')), 'a listed directory under its own marker: emptied of lower content').toEqual([]);
    },
  },
  {
    // Parents a layer implies (not listed) belong to it: its own opaque marker keeps them (OCI image-spec, umoci).
    name: 'an opaque marker over a file whose parent the layer only implies',
    layer: tar([
      { name: 'opt/implied/f', data: 'this layer\n' },
      { name: 'opt/.wh..wh..opq', data: '' },
    ]),
    check: (r) => {
      expect(readdirSync(path.join(r, 'opt'))).toEqual(['implied']);
      expect(readFileSync(path.join(r, 'opt/implied/f'), 'utf8')).toBe('this layer\n');
    },
  },
  {
    // The layer wrote x/y (so x holds its own entries), then put a symlink to a host directory in x's place.
    name: 'an opaque marker over a directory this layer replaced by a symlink to a host directory',
    layer: tar([
      { name: 'opt/x/y', data: 'this layer\n' },
      { name: 'opt/x', type: 'symlink', linkname: OUTSIDE },
      { name: 'opt/.wh..wh..opq', data: '' },
    ]),
    check: (r) => {
      expect(readFileSync(path.join(OUTSIDE, 'victim'), 'utf8')).toBe('do not touch\n');
      expect(lstatSync(path.join(r, 'opt/x')).isSymbolicLink()).toBe(true);
    },
  },
  {
    // Go's archive/tar (containerd, moby) reads the prefix here too: the file goes where containerd puts it.
    name: 'a GNU header carrying a ustar prefix (old Go writers)',
    layer: gnuHeaderWithPrefix('opt/goprefix', 'gnu-prefixed', false),
    check: (r) => expect(readFileSync(path.join(r, 'opt/goprefix/gnu-prefixed'), 'utf8')).toBe('x'),
  },
  {
    name: 'a real GNU header: its atime and ctime are not a prefix',
    layer: gnuHeaderWithPrefix('', 'gnu-plain', true),
    check: (r) => expect(readFileSync(path.join(r, 'gnu-plain'), 'utf8')).toBe('x'),
  },
  {
    // Go's archive/tar returns a global header as an entry of its own and applies its records
    // to nothing; containerd, moby and umoci skip it. Applied, it would rename every later entry.
    name: 'a PAX global header with path, uid and xattr records',
    layer: tar([
      { name: 'pax_global_header', type: 'g', data: Buffer.concat([paxRecord('path', 'renamed'), paxRecord('uid', '4242'), paxRecord('SCHILY.xattr.user.global', 'x')]) },
      { name: 'a', data: '1' },
      { name: 'b', data: '2' },
    ]),
    check: (r) => {
      expect(readFileSync(path.join(r, 'a'), 'utf8')).toBe('1');
      expect(readFileSync(path.join(r, 'b'), 'utf8')).toBe('2');
      expect(lstatSync(path.join(r, 'a')).uid).toBe(0);
      expect(existsSync(path.join(r, 'renamed'))).toBe(false);
      expect(existsSync(path.join(r, 'pax_global_header'))).toBe(false);
    },
  },
  { name: 'a 4 KB name', layer: tar([{ name: 'n'.repeat(4000), data: 'x' }]), rejected: /longer than 255 bytes/ },
  { name: 'a path over 4 KB', layer: tar([{ name: `${'d/'.repeat(2100)}f`, data: 'x' }]), rejected: /path of \d+ bytes exceeds the limit of 4096/ },
  {
    name: 'a layer of 100,000 entries',
    layer: tar([{ name: 'many/', type: 'dir' }, ...Array.from({ length: 99_999 }, (_, i): RawEntry => ({ name: `many/${i}`, data: '' }))], 'zstd'),
    check: (r) => expect(readdirSync(path.join(r, 'many'))).toHaveLength(99_999),
  },
  {
    name: 'a truncated gzip',
    layer: { tar: rawTar([{ name: 'big', data: Buffer.alloc(100_000, 7) }]), compression: 'gzip', mangle: (b) => b.subarray(0, b.length - 200) },
    rejected: /cannot decompress \(gzip\)/,
  },
  {
    name: 'a tar cut off inside a file',
    layer: { tar: rawTar([{ name: 'big', data: Buffer.alloc(100_000, 7) }], { end: false }).subarray(0, 50_000), compression: 'none' },
    rejected: /truncated inside this file/,
  },
  {
    name: 'a diff_id that does not match',
    layer: { tar: rawTar([{ name: 'x', data: 'x' }]), compression: 'gzip', wrongDiffId: true },
    rejected: /its uncompressed content is sha256:[0-9a-f]+, but the image config says diff_id/,
  },
  { name: 'a sparse file', layer: tar([{ name: 'sparse', type: 'S', data: '' }]), rejected: /unsupported entry type "S"/ },
  { name: 'a header with a bad checksum', layer: { tar: Buffer.concat([Buffer.alloc(512, 0x41), Buffer.alloc(1024)]), compression: 'none' }, rejected: /header checksum mismatch/ },
];

describe('hostile layers', () => {
  const dir = tempDir('ks-hostile-');
  const outside = path.join(dir, 'outside');
  let before: Record<string, string>;
  const isStaging = (p: string) => p.includes(`${path.sep}staging-`);
  let hostEtc: string[];

  beforeAll(() => {
    mkdirSync(outside);
    writeFileSync(path.join(outside, 'victim'), 'do not touch\n');
    before = snapshot(dir, isStaging);
    hostEtc = readdirSync('/etc').sort();
  });

  afterAll(async () => {
    // Nothing any case aimed at landed outside its rootfs, on this machine at large either.
    expect(snapshot(dir, (p) => isStaging(p) || p.includes(`${path.sep}layout-`))).toEqual(Object.fromEntries(Object.entries(before)));
    expect(readdirSync('/etc').sort()).toEqual(hostEtc);
    const found = await must('find', ['/', '-xdev', '-name', 'pwned-*', '-not', '-path', `${dir}/staging-*`]).catch((e: unknown) => (e as Error).message);
    expect(found.trim()).toBe('');
  }, 120_000);

  it.each(CASES)(
    '$name',
    async (c) => {
      const slug = c.name.replace(/\W+/g, '-');
      const layout = path.join(dir, `layout-${slug}`);
      writeImage(layout, 'hostile', [tar(base), c.layer]);
      const store = await OciStore.open(layout);
      const [image] = await listImages(store, await TransferStats.load(layout));
      const stagingBase = path.join(dir, `staging-${slug}`);
      const run = unpackImage({ store, image: image!, stagingBase, libDir: path.join(dir, 'lib'), log });
      if (c.rejected) {
        await expect(run).rejects.toThrow(c.rejected);
        await expect(run).rejects.toMatchObject({ code: 'E_UNPACK', message: expect.stringMatching(/^layer 2\/2 \(sha256:[0-9a-f]{64}\): /) });
        expect(readdirSync(stagingBase)).toEqual([]); // the partial staging is gone
      } else {
        const staged = await run;
        expect(existsSync(path.join(path.dirname(staged.rootfs), 'staged.json'))).toBe(true);
        c.check!(staged.rootfs);
      }
    },
    120_000,
  );
});
