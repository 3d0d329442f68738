/**
 * moby's hostile-archive and layer-application tests, ported: github.com/moby/go-archive
 * v0.3.3 (the newest tag; commit ae9e219f), the archive package Docker now unpacks layers
 * with. Each case is named as upstream names its test (and subtest, or `i=<n>` with the
 * upstream comment where the table is unnamed). `lower` is the file system before the
 * layer, as a layer of its own; `layer` is the archive. Tests that go through both moby's
 * `Untar` and its `ApplyLayer`/`UnpackLayer` are ported under both names: the agent has
 * one way of applying a layer, so both must hold.
 *
 * moby's `testBreakout` puts a `victim` directory next to the destination and an empty
 * `victim/` inside it; here `../victim` of the rootfs is inside the agent's own staging
 * directory, so every case also checks that the staging holds nothing but the rootfs and
 * its marker (or, for a refused layer, nothing at all), and the breakout cases start from
 * a lower layer with `victim/`.
 *
 * Not ported, and why:
 * - TestBreakoutErrorUnwrap, TestTempArchiveCloseMultipleTimes, TestIsArchivePath*,
 *   TestUntarPath*, TestCopyWithTar*, TestCopyFileWithTar*, TestReplaceFileTarWrapper,
 *   TestCopyInfoDestinationPathSymlink, copy_unix_test.go (TestCopy*), copy_test.go,
 *   chrootarchive TestChrootUntarPath, TestChrootCopyWithTar, TestChrootCopyFileWithTar,
 *   TestChrootUntarEmptyArchive (a nil reader), TestChrootUntarWithHugeExcludesList:
 *   moby's Go API (error types, path/copy helpers, excludes), not what a layer does.
 * - TestTarFiles, TestTarUntar, TestTarWithOptions*, TestTarWithHardLink*,
 *   TestTarWithBlockCharFifo, TestTarUntarWithXattr, TestCanonicalTarName,
 *   TestChmodTarEntry, TestChrootTarUntar*, TestTarWithMaliciousSymlinks, changes*_test.go
 *   (TestChanges*, TestApplyLayer, TestHardLinkOrder), wrap_test.go, tarheader_test.go:
 *   tar creation and diffing; the agent only reads layers.
 * - TestOverlayTarUntar, TestOverlayTarAUFSUntar: overlayfs whiteout conversion (char 0:0
 *   devices, trusted.overlay.opaque); the agent writes a plain directory tree.
 * - TestChmodNoSymlinkFallback, TestChmodNoSymlinkFallbackInChrootWithoutProc: moby's
 *   chmod fallback for device nodes on nodev mounts; the agent creates no device nodes.
 * - TestUntarWithMaliciousSymlinks (CVE-2018-15664): the destination itself is a symlink
 *   to the host; the agent's staging directory is its own, never named by an image.
 * - compression/ (TestDetectCompression*, TestDecompressStream*, TestPigz, ...): docker
 *   compression detection (bzip2, xz, pigz); the agent reads gzip/zstd/plain by media type.
 * - FuzzUntar, FuzzApplyLayer, FuzzDecompressStream: fuzzers, no cases.
 * - archive_windows_test.go, path_windows_test.go: Windows.
 * - TestUntarThroughAbsoluteSymlink/Untar/*, TestUnpackRejectsRelativeEscapeBeforeAbsoluteSymlink/Unpack,
 *   TestHardlinkSourceThroughAbsoluteSymlink/Unpack: the same entries as their UnpackLayer
 *   subtests, through moby's non-layer `Unpack`; ported once, under the UnpackLayer name.
 */
import { lstatSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { expect } from 'vitest';
import { all, describeLayerCases, exists, fileValue, isFile, notExists, perm, sameInode, symlinkTo, type LayerCase } from '../../testbed/layer-cases.ts';
import { paxRecord, rawTar, sealHeader, type RawEntry } from '../../testbed/oci-layout.ts';

const at = (r: string, p: string) => path.join(r, p);

const dir = (name: string, mode = 0o755): RawEntry => ({ name, type: 'dir', mode });
const file = (name: string, data = '', mode = 0o644): RawEntry => ({ name, data, mode });
const symlink = (name: string, target: string): RawEntry => ({ name, type: 'symlink', linkname: target, mode: 0o777 });
const link = (name: string, target: string, mode = 0o644): RawEntry => ({ name, type: 'hardlink', linkname: target, mode });

/** One entry as `rawTar` writes it (no end of archive), its header edited and its checksum redone. */
function edited(e: RawEntry, edit: (h: Buffer) => void): Buffer {
  const t = rawTar([e], { end: false });
  const h = t.subarray(0, 512);
  edit(h);
  sealHeader(h);
  return t;
}

/** A GNU base-256 number (two's complement for a negative one) in a header field. */
function base256(h: Buffer, off: number, len: number, n: bigint): void {
  let v = n < 0n ? (1n << BigInt(8 * len)) + n : n;
  for (let i = len - 1; i >= 0; i--) {
    h[off + i] = Number(v & 0xffn);
    v >>= 8n;
  }
  if (n >= 0n) h[off] = h[off]! | 0x80;
}

type Part = RawEntry | Buffer;
/** Entries and hand-edited headers, in order, then the end of the archive. */
function archive(parts: Part[]): Buffer {
  return Buffer.concat([...parts.map((p) => (Buffer.isBuffer(p) ? p : rawTar([p], { end: false }))), Buffer.alloc(1024)]);
}

/** Every path under the root, directories with a trailing "/", in filepath.Walk's (lexical) order. */
function walk(root: string, rel = ''): string[] {
  const out: string[] = [];
  for (const name of readdirSync(at(root, rel)).sort()) {
    const p = rel ? `${rel}/${name}` : name;
    if (lstatSync(at(root, p)).isDirectory()) out.push(`${p}/`, ...walk(root, p));
    else out.push(p);
  }
  return out;
}

type Case = Omit<LayerCase, 'tar'> & {
  /** The layer's entries (or hand-made headers), or the exact bytes of the layer. */
  layer: Part[] | Buffer;
};

const CLIMBS = /climbs out with "\.\."/;
const CHROOT =
  'moby refuses to resolve a path through a relative symlink that leads out of the root (os.Root: "path escapes from parent"); ' +
  'the agent resolves it as a chroot would, as containerd does: `..` stops at the rootfs root, so the write lands inside the rootfs';
/** moby's testBreakout starts with an empty `victim/` inside the destination. */
const BREAKOUT_LOWER = [dir('victim/')];

/** The hostile tables moby runs through both `Untar` and `ApplyLayer` (testBreakout). */
function breakoutTables(): Case[] {
  const filenames: Array<Omit<Case, 'name'>> = [
    { layer: [file('../victim/dotdot')], rejected: CLIMBS },
    { layer: [file('/../victim/slash-dotdot')], rejected: CLIMBS },
  ];
  const hardlinks: Array<[string, Omit<Case, 'name'>]> = [
    ['try reading victim/hello (../)', { layer: [link('dotdot', '../victim/hello')], rejected: CLIMBS }],
    ['try reading victim/hello (/../)', { layer: [link('slash-dotdot', '/../victim/hello')], rejected: CLIMBS }],
    ['try writing victim/file', { layer: [link('loophole-victim', '../victim', 0o755), file('loophole-victim/file')], rejected: CLIMBS }],
    ['try reading victim/hello (hardlink, symlink)', { layer: [link('loophole-victim', '../victim', 0o755), symlink('symlink', 'loophole-victim/hello')], rejected: CLIMBS }],
    ['Try reading victim/hello (hardlink, hardlink)', { layer: [link('loophole-victim', '../victim', 0o755), link('hardlink', 'loophole-victim/hello')], rejected: CLIMBS }],
    ['Try removing victim directory (hardlink)', { layer: [link('loophole-victim', '../victim', 0o755), file('loophole-victim')], rejected: CLIMBS }],
  ];
  const symlinks: Array<[string, Omit<Case, 'name'>]> = [
    ['try reading victim/hello (../)', { layer: [symlink('dotdot', '../victim/hello')], check: symlinkTo('dotdot', '../victim/hello') }],
    ['try reading victim/hello (/../)', { layer: [symlink('slash-dotdot', '/../victim/hello')], check: symlinkTo('slash-dotdot', '/../victim/hello') }],
    [
      'try writing victim/file',
      { layer: [symlink('loophole-victim', '../victim'), file('loophole-victim/file')], check: all(symlinkTo('loophole-victim', '../victim'), isFile('victim/file')), differs: CHROOT },
    ],
    [
      'try reading victim/hello (symlink, symlink)',
      { layer: [symlink('loophole-victim', '../victim'), symlink('symlink', 'loophole-victim/hello')], check: symlinkTo('symlink', 'loophole-victim/hello') },
    ],
    [
      // moby fails it through os.Root (the path escapes); the agent finds no victim/hello in the image.
      'try reading victim/hello (symlink, hardlink)',
      {
        layer: [symlink('loophole-victim', '../victim'), link('hardlink', 'loophole-victim/hello')],
        rejected: /entry "hardlink": hard link target "loophole-victim\/hello" does not exist in the image/,
      },
    ],
    ['try removing victim directory (symlink)', { layer: [symlink('loophole-victim', '../victim'), file('loophole-victim')], check: isFile('loophole-victim') }],
  ];
  const untarOnlySymlink: [string, Omit<Case, 'name'>] = [
    'try writing to victim/newdir/newfile with a symlink in the path',
    {
      layer: [symlink('dir/loophole', '../../victim'), file('dir/loophole/newdir/newfile')],
      check: all(symlinkTo('dir/loophole', '../../victim'), isFile('victim/newdir/newfile')),
      differs: CHROOT,
    },
  ];
  const out: Case[] = [];
  for (const api of ['Untar', 'ApplyLayer']) {
    filenames.forEach((c, i) => out.push({ name: `Test${api}InvalidFilenames i=${i}`, lower: BREAKOUT_LOWER, ...c }));
    hardlinks.forEach(([what, c], i) => out.push({ name: `Test${api}InvalidHardlink i=${i} (${what})`, lower: BREAKOUT_LOWER, ...c }));
    [...symlinks, ...(api === 'Untar' ? [untarOnlySymlink] : [])].forEach(([what, c], i) => out.push({ name: `Test${api}InvalidSymlink i=${i} (${what})`, lower: BREAKOUT_LOWER, ...c }));
  }
  return out;
}

/** TestApplyLayerWhiteouts: four layers in a row; each case starts from the state the previous one expects. */
function whiteoutLayers(): Case[] {
  const base = ['.baz', 'bar/', 'bar/bax', 'bar/bay/', 'baz', 'foo/', 'foo/.abc', 'foo/.bcd/', 'foo/.bcd/a', 'foo/cde/', 'foo/cde/def', 'foo/cde/efg', 'foo/fgh', 'foobar'];
  const steps: Array<[string[], string[]]> = [
    [base, base],
    [
      ['.bay', '.wh.baz', 'foo/', 'foo/.bce', 'foo/.wh..wh..opq', 'foo/cde/', 'foo/cde/efg'],
      ['.bay', '.baz', 'bar/', 'bar/bax', 'bar/bay/', 'foo/', 'foo/.bce', 'foo/cde/', 'foo/cde/efg', 'foobar'],
    ],
    [
      ['.bay', '.wh..baz', '.wh.foobar', 'foo/', 'foo/.abc', 'foo/.wh.cde', 'bar/'],
      ['.bay', 'bar/', 'bar/bax', 'bar/bay/', 'foo/', 'foo/.abc', 'foo/.bce'],
    ],
    [
      ['.abc', '.wh..wh..opq', 'foobar'],
      ['.abc', 'foobar'],
    ],
  ];
  // moby's makeTestLayer: directories 0700, empty files 0600, tarred in walk order.
  const entries = (paths: string[]) => paths.map((p) => (p.endsWith('/') ? dir(p, 0o700) : file(p, '', 0o600)));
  return steps.map(([change, expected], i) => ({
    name: `TestApplyLayerWhiteouts layer ${i}`,
    lower: i === 0 ? undefined : entries(steps[i - 1]![1]),
    layer: entries(change),
    check: (r) => expect(walk(r)).toEqual(expected),
  }));
}

/** Go 1.7's archive/tar output from TestPrefixHeaderReadable: a GNU header carrying a ustar prefix, uid 010000000. */
const PREFIX_HEADER_TAR = gunzipSync(Buffer.from('H4sICEQhaFkAA3QudGFyAEvLz2egNTCAAIYGEEcBwTdAAFS2saGpmQlIJR1AaXFJYpEC5XaheYQhkdaAcq+PglEwCkY2AADwHB6VAAYAAA==', 'base64'));

const CPANM = 'root/.cpanm/work/1395823785.24209';
const MAN3 = `${CPANM}/Plack-1.0030/blib/man3`;
const MANPAGE = 'Plack::Middleware::LighttpdScriptNameFix.3pm';

const impliedDirectoryPermissions = (umask: number): Case => ({
  name: `TestImpliedDirectoryPermissions/umask=0${umask.toString(8)}`, // Go's %#o
  umask,
  layer: [
    file('deeply/nested/and/implied', '', 0),
    dir('explicit/', 0o644),
    dir('explicit/permissions/', 0o600),
    dir('explicit/permissions/specified/', 0o400),
    dir('explicit/permissions/umask/', 0o777),
    file('explicit/permissions/umask/file', '', 0o666),
    dir('implied/dir-without-trailing-slash', 0o700),
  ],
  check: all(
    ...['deeply', 'deeply/nested', 'deeply/nested/and'].map((d) => perm(d, 0o755 & ~umask)),
    perm('explicit', 0o644),
    perm('explicit/permissions', 0o600),
    perm('explicit/permissions/specified', 0o400),
    perm('explicit/permissions/umask', 0o777),
    perm('explicit/permissions/umask/file', 0o666),
    perm('implied/dir-without-trailing-slash', 0o700),
  ),
  differs:
    umask === 0o022
      ? undefined
      : "moby chmods implied directories to 0755 whatever the umask; the agent, like umoci (0777 minus the umask), creates them 0755 minus the process umask: 0750 here (0755 under systemd's default umask 022). Explicit modes are exact in both",
});

const CASES: Case[] = [
  ...breakoutTables(),
  ...['bare parent', 'parent child', 'nested parent'].map((sub, i): Case => ({
    name: `TestUntarParentTraversalContained/${sub}`,
    layer: [file(['..', '../pwned', '../../pwned'][i]!, 'bad')],
    rejected: CLIMBS,
  })),
  { name: 'TestUntarSiblingPrefixContained', layer: [link('grab', '../dest-evil/secret')], rejected: CLIMBS },
  {
    name: 'TestUntarHardlinkToSymlink i=0',
    lower: BREAKOUT_LOWER,
    layer: [symlink('symlink1', 'regfile'), link('symlink2', 'symlink1'), file('regfile')],
    // link(2) does not follow the symlink: symlink2 is the symlink itself, under a second name (as in moby).
    check: all(symlinkTo('symlink2', 'regfile'), sameInode('symlink1', 'symlink2'), isFile('regfile')),
  },
  {
    name: 'TestUntarAbsoluteHardlink',
    layer: [file('usr/bin/perlbug', 'hello', 0o755), link('usr/bin/perlthanks', '/usr/bin/perlbug', 0o755)],
    check: all(sameInode('usr/bin/perlbug', 'usr/bin/perlthanks'), fileValue('usr/bin/perlthanks', 'hello')),
  },
  {
    name: 'TestUntarSymlinkBreakout',
    layer: [dir('inner'), symlink('inner/go_up', '..'), symlink('inner/go_up/escape', '../victim'), file('inner/go_up/escape/newfile')],
    // Upstream accepts a refusal or a write kept inside the root.
    check: all(symlinkTo('escape', '../victim'), isFile('victim/newfile')),
    differs: `moby refuses the last entry; ${CHROOT}`,
  },
  ...['relative_posix_target', 'absolute_posix_target'].map((sub): Case => {
    const target = sub === 'relative_posix_target' ? '../usr/local/bin/tool' : '/usr/local/bin/tool';
    return { name: `TestCreateTarFileSymlinkPreservesLinkname/${sub}`, lower: [dir('bin')], layer: [symlink('bin/tool', target)], check: symlinkTo('bin/tool', target) };
  }),
  {
    // A git-archive style global header (PAX 'g' with a comment): ignored, and no file of that name.
    name: 'TestTypeXGlobalHeaderDoesNotFail',
    layer: [edited({ name: 'pax_global_header', data: paxRecord('comment', 'ae9e219f7104d91e262055a29bae1f9753106981') }, (h) => h.write('g', 156, 'latin1')), file('after', 'x')],
    check: all(notExists('pax_global_header'), fileValue('after', 'x')),
  },
  { name: 'TestXGlobalNoParent', layer: [{ name: 'foo/bar', type: 'g' }], check: notExists('foo') },
  {
    name: 'TestPrefixHeaderReadable',
    layer: PREFIX_HEADER_TAR,
    check: all(exists(`${'a'.repeat(97)}/foo`), (r) => expect(lstatSync(at(r, `${'a'.repeat(97)}/foo`)).uid).toBe(0o10000000)),
  },
  {
    // testdata/broken.tar, rebuilt: a GNU header with a base-256 uid, then a ustar header ("ustar\0" and GNU's " \0" version) with a prefix.
    name: 'TestUntarUstarGnuConflict',
    layer: [
      edited(file(`${CPANM}/File-Find-Rule-0.33/META.yml`, '---\n'), (h) => {
        h.write('ustar  \0', 257, 'latin1');
        base256(h, 108, 8, 831547347n);
      }),
      edited(file(MANPAGE, '.TH\n'), (h) => {
        h.write('ustar\0 \0', 257, 'latin1');
        h.write(MAN3, 345, 'latin1');
      }),
    ],
    check: all(fileValue(`${MAN3}/${MANPAGE}`, '.TH\n'), (r) => expect(lstatSync(at(r, `${CPANM}/File-Find-Rule-0.33/META.yml`)).uid).toBe(831547347)),
  },
  impliedDirectoryPermissions(0o022),
  impliedDirectoryPermissions(0o027),
  {
    name: 'TestUnpackLayerCreatesImpliedDirectoriesThroughLowerLayerSymlink',
    lower: [dir('usr/'), dir('usr/lib/'), symlink('lib', 'usr/lib')],
    layer: [file('lib/systemd/system/container.service', 'content')],
    check: all(symlinkTo('lib', 'usr/lib'), fileValue('usr/lib/systemd/system/container.service', 'content')),
  },
  { name: 'TestUntarParentPathPermissions', layer: [file('foo/bar', '', 0)], check: perm('foo', 0o755) },
  ...[
    ['major above uint32', 1n << 32n, 0n],
    ['minor above uint32', 0n, 1n << 32n],
    ['negative major', -1n, 0n],
    ['negative minor', 0n, -1n],
  ].map(([sub, major, minor]): Case => {
    const negative = (major as bigint) < 0n || (minor as bigint) < 0n;
    return {
      name: `TestHandleTarTypeBlockCharFifoDeviceRange/${sub as string}`,
      layer: [
        edited({ name: 'dev', type: '4' }, (h) => {
          base256(h, 329, 8, major as bigint);
          base256(h, 337, 8, minor as bigint);
        }),
      ],
      ...(negative
        ? { rejected: /entry at byte 0\): negative dev(major|minor)/ }
        : {
            check: notExists('dev'),
            differs: 'moby refuses a device number above 32 bits; the agent never creates device nodes (it skips them, with their numbers), so the layer applies without it',
          }),
    };
  }),
  ...['existing target', 'missing target'].map((sub): Case => ({
    name: `TestUntarThroughAbsoluteSymlink/UnpackLayer/${sub}`,
    lower: [dir('var'), ...(sub === 'existing target' ? [dir('run'), dir('run/existing')] : []), symlink('var/run', '/run')],
    layer: [file('var/run/existing/non-existing/file', 'content')],
    check: fileValue('run/existing/non-existing/file', 'content'),
  })),
  {
    name: 'TestUnpackRejectsRelativeEscapeBeforeAbsoluteSymlink/UnpackLayer',
    lower: [dir('target'), symlink('escape', '..'), symlink('absolute', '/target')],
    layer: [file('escape/absolute/file')],
    check: isFile('target/file'),
    differs: `moby refuses it: \`escape -> ..\` leaves the root before \`absolute -> /target\` brings it back; ${CHROOT} (escape is the root, so escape/absolute/file is target/file)`,
  },
  {
    name: 'TestHardlinkSourceThroughAbsoluteSymlink/UnpackLayer',
    lower: [dir('var'), symlink('var/run', '/run')],
    layer: [file('var/run/source', 'content'), link('var/run/link', 'var/run/source')],
    check: all(fileValue('run/link', 'content'), sameInode('run/source', 'run/link'), (r) => expect(statSync(at(r, 'run/source')).nlink).toBe(2)),
  },
  ...['.wh.', '.wh..', '.wh...'].map((name): Case => ({ name: `TestOverlayUntarInvalidWhiteoutNames/${name}`, layer: [file(name, '', 0o600)], rejected: /whiteout of "(\.{0,2})"/ })),
  ...whiteoutLayers(),
  { name: 'TestChrootApplyDotDotFile', layer: [file('..gitme')], check: isFile('..gitme') },
  // slowEmptyTarReader: 10240 zero bytes, i.e. an archive with no entries.
  ...['TestChrootUntarEmptyArchiveFromSlowReader', 'TestChrootApplyEmptyArchiveFromSlowReader'].map((name): Case => ({
    name,
    layer: Buffer.alloc(10240),
    check: (r) => expect(readdirSync(r)).toEqual([]),
  })),
];

describeLayerCases(
  "moby's go-archive tests (v0.3.3), ported",
  CASES.map(({ layer, ...c }) => ({ ...c, tar: Buffer.isBuffer(layer) ? layer : archive(layer) })),
);
