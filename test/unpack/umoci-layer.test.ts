/**
 * umoci's layer-extraction tests, ported: oci/layer/tar_extract_test.go of
 * github.com/opencontainers/umoci v0.6.0 (the newest tag; commit 1c44d6f2). Each case is
 * named as upstream names its test and subtest. umoci feeds entries one by one to
 * `TarExtractor.UnpackEntry`, with a fresh extractor for each layer: `lower` is what the
 * test put on disk before (or its first extractor), as a layer of its own; `layer` is the
 * entries of the last extractor. umoci's tests keep a host file next to the rootfs; here
 * that place is the agent's staging directory, so every applied case also checks that
 * the staging holds nothing but the rootfs and its marker.
 *
 * Not ported, and why:
 * - TestUnpackEntryMap, utils_test.go (TestMapRootless, TestUnmapRootless): uid/gid
 *   mapping and rootless mode; the agent runs as root and keeps the image's owners.
 * - TestUnpackEntry_OverlayfsRootfs_* (tar_extract_linux_test.go), TestUnpackUnimplementedOverlayfs,
 *   types_test.go (TestOverlayfsRootfs_*), xattr tests (TestDoesXattrMatch, TestGetXattrFilter,
 *   TestOverlayXattrFilter, TestUnpackGenerateRoundTrip_*): umoci's overlayfs on-disk format
 *   (whiteouts as char 0:0 devices and overlay xattrs) and its internal xattr-name filters;
 *   the agent writes a plain directory tree.
 * - TestIsDirlink, TestUnpackOptionsHelpers, TestRepackOptionsHelpers: internal helpers.
 * - generate_test.go, generate_linux_test.go, tar_generate_test.go (TestGenerate*,
 *   TestTarGenerate*, TestTranslateOverlayWhiteouts_*): layer creation; the agent only reads layers.
 * - unpack_test.go: TestUnpackManifestCustomLayer and TestUnpackStartFromDescriptor unpack a
 *   whole fixture image with uid mapping / a start-from option the agent does not have;
 *   TestLayerCompressionCheck is umoci's media-type-to-algorithm table.
 */
import { lstatSync, readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import path from 'node:path';
import { expect } from 'vitest';
import { all, describeLayerCases, exists, fileValue, isDir, notExists, type Check, type LayerCase } from '../../testbed/layer-cases.ts';
import { rawTar, type RawEntry } from '../../testbed/oci-layout.ts';

const at = (r: string, p: string) => path.join(r, p);

const dir = (name: string, mode = 0o755): RawEntry => ({ name, type: 'dir', mode });
const file = (name: string, data = '', mode = 0o644): RawEntry => ({ name, data, mode });
const symlink = (name: string, target: string): RawEntry => ({ name, type: 'symlink', linkname: target, mode: 0o777 });

/** The mtime rawTar writes into every header. */
const HEADER_MTIME_MS = 1_700_000_000_000;

type Case = Omit<LayerCase, 'tar'> & { layer: RawEntry[] };

const CLIMBS = /climbs out with "\.\."/;
const CLAMPED = 'umoci clamps the `..` at the rootfs root and applies the entry; the agent refuses any entry name or hard link target with `..`';

/** umoci's testUnpackEntrySanitiseHelper: "container content" written at <prefix>/file. */
const CONTAINER_CONTENT = 'container content';

const sanitiseScoping = ([sub, prefix]: [string, string]): Case => ({
  name: `TestUnpackEntrySanitiseScoping/${sub}`,
  layer: [file(`${prefix}/file`, CONTAINER_CONTENT)],
  rejected: CLIMBS,
  differs: CLAMPED,
});

const symlinkScoping = ([sub, prefix]: [string, string]): Case => ({
  name: `TestUnpackEntrySymlinkScoping/${sub}`,
  lower: [symlink('link', prefix)],
  layer: [file('link/file', CONTAINER_CONTENT)],
  check: all(fileValue('file', CONTAINER_CONTENT), (r) => expect(readlinkSync(at(r, 'link'))).toBe(prefix)),
});

/** TestUnpackEntryWhiteout: `path` (a file, or a directory with content) whited out; its parent keeps its mtime. */
const whiteout = ([sub, p, isDirectory]: [string, string, boolean]): Case => {
  const parent = path.posix.dirname(p);
  const parents = parent === '.' ? [] : parent.split('/').map((_, i, a) => dir(`${a.slice(0, i + 1).join('/')}/`));
  const target = isDirectory
    ? [dir(`${p}/`), file(`${p}/file1`, 'some value'), file(`${p}/file2`, 'some value'), dir(`${p}/.subdir/`), file(`${p}/.subdir/file3`, 'some value')]
    : [file(p, 'some value')];
  return {
    name: `TestUnpackEntryWhiteout/${sub}`,
    lower: [...parents, ...target],
    layer: [file(`${parent === '.' ? '' : `${parent}/`}.wh.${path.posix.basename(p)}`)],
    check: all(notExists(p), ...(parent === '.' ? [] : [(r: string) => expect(statSync(at(r, parent)).mtimeMs, 'mtime of the parent directory').toBe(HEADER_MTIME_MS)])),
    // The parent-mtime half is checked where the parent is a directory of the image: the
    // agent gives the rootfs root no mtime from any layer (moby skips a "./" entry altogether).
  };
};

/** umoci's tarDentry: mode 0777, no content; `upper` goes in the last layer, `survives` the opaque whiteout. */
interface Dentry {
  path: string;
  type: string;
  linkname?: string;
  upper: boolean;
  survives: boolean;
}
const d = (p: string, type: string, upper: boolean, survives: boolean, linkname?: string): Dentry => ({ path: p, type, linkname, upper, survives });
const REG = 'file';
const REGA = '\0'; // tar.TypeRegA, the pre-POSIX regular file
const SYM = 'symlink';
const DIR = 'dir';
const FIFO = 'fifo';
const SHADOW_UP = '../../../../../../../../../../../../etc/shadow';
const SHADOW_ABS = '/../../../../../../../../../../../../etc/shadow';

const OPAQUE_TABLE: Array<[string, Dentry[]]> = [
  ['EmptyDir', []],
  ['OneLevel', [d('file', REG, false, false), d('link', SYM, true, true, '..'), d('badlink', SYM, true, true, './nothing'), d('fifo', FIFO, false, false)]],
  ['OneLevelNoUpper', [d('file', REG, false, false), d('link', SYM, false, false, '..'), d('badlink', SYM, false, false, './nothing'), d('fifo', FIFO, false, false)]],
  [
    'TwoLevel',
    [
      d('file', REG, true, true),
      d('link', SYM, false, false, '..'),
      d('badlink', SYM, false, false, './nothing'),
      d('dir', DIR, true, true),
      d('dir/file', REGA, true, true),
      d('dir/link', SYM, false, false, '../badlink'),
      d('dir/verybadlink', SYM, true, true, SHADOW_UP),
      d('dir/verybadlink2', SYM, false, false, SHADOW_ABS),
    ],
  ],
  [
    'TwoLevelNoUpper',
    [
      d('file', REG, false, false),
      d('link', SYM, false, false, '..'),
      d('badlink', SYM, false, false, './nothing'),
      d('dir', DIR, false, false),
      d('dir/file', REGA, false, false),
      d('dir/link', SYM, false, false, '../badlink'),
      d('dir/verybadlink', SYM, false, false, SHADOW_UP),
      d('dir/verybadlink2', SYM, false, false, SHADOW_ABS),
    ],
  ],
  ...(['MultiLevel', 'MultiLevelNoUpper'] as const).map((name): [string, Dentry[]] => {
    const up = name === 'MultiLevel';
    return [
      name,
      [
        d('level1_file', REG, up, up),
        d('level1_link', SYM, false, false, '..'),
        d('level1a', DIR, up, up),
        d('level1a/level2_file', REGA, false, false),
        d('level1a/level2_link', SYM, up, up, '../../../'),
        d('level1a/level2a', DIR, false, false),
        d('level1a/level2a/level3_fileA', REG, false, false),
        d('level1a/level2a/level3_fileB', REG, false, false),
        d('level1a/level2b', DIR, up, up),
        d('level1a/level2b/level3_fileA', REG, up, up),
        d('level1a/level2b/level3_fileB', REG, false, false),
        d('level1a/level2b/level3', DIR, false, false),
        d('level1a/level2b/level3/level4', DIR, false, false),
        d('level1a/level2b/level3/level4', DIR, false, false),
        d('level1a/level2b/level3_fileA', REG, up, up),
        d('level1b', DIR, false, false),
        d('level1b/level2_fileA', REG, false, false),
        d('level1b/level2_fileB', REG, false, false),
        d('level1b/level2', DIR, false, false),
        d('level1b/level2/level3_file', REG, false, false),
      ],
    ];
  }),
  [
    'MissingUpperAncestor',
    [
      // Not in the upper layer, but the parents of what is: they stay.
      d('some', DIR, false, true),
      d('some/dir', DIR, false, true),
      d('some/dir/somewhere', REG, true, true),
      d('another', DIR, false, false),
      d('another/dir', DIR, false, false),
      d('another/dir/somewhere', REG, false, false),
    ],
  ],
  [
    'UpperWhiteout',
    [d('.wh.fileB', REG, true, true), d('fileA', REG, true, true), d('fileB', REG, true, true), d('fileC', REG, false, false), d('.wh.fileA', REG, true, true), d('.wh.fileC', REG, true, true)],
  ],
  [
    'UpperDirWhiteout',
    [
      d('.wh.dir2', REG, true, true),
      d('file', REG, false, false),
      d('dir1', DIR, true, true),
      d('dir1/file', REGA, true, true),
      d('dir1/link', SYM, false, false, '../badlink'),
      d('dir1/verybadlink', SYM, true, true, SHADOW_UP),
      d('dir1/verybadlink2', SYM, false, false, SHADOW_ABS),
      d('.wh.dir1', REG, true, true),
      d('dir2', DIR, true, true),
      d('dir2/file', REGA, true, true),
      d('dir2/link', SYM, false, false, '../badlink'),
    ],
  ],
];

/** TestUnpackOpaqueWhiteout: lower entries, then upper entries and `test-subdir/.wh..wh..opq` last. */
const opaque = ([sub, dentries]: [string, Dentry[]]): Case => {
  const root = 'test-subdir';
  const entry = (de: Dentry): RawEntry => ({ name: `${root}/${de.path}`, type: de.type, linkname: de.linkname, mode: 0o777 });
  const upper = dentries.filter((de) => de.upper);
  return {
    name: `TestUnpackOpaqueWhiteout/${sub}`,
    lower: [dir(`${root}/`), ...dentries.filter((de) => !de.upper).map(entry)],
    layer: [...upper.map(entry), file(`${root}/.wh..wh..opq`)],
    check: all(
      ...dentries.filter((de) => !path.posix.basename(de.path).startsWith('.wh.')).map((de) => (de.survives ? exists(`${root}/${de.path}`) : notExists(`${root}/${de.path}`))),
      isDir(root),
      ...(upper.length === 0 ? [(r: string) => expect(readdirSync(at(r, root))).toEqual([])] : []),
    ),
    ...(dentries.some((de) => de.type === FIFO)
      ? { differs: 'the lower FIFO is skipped (the agent creates no FIFOs or device nodes), so it is already absent before the whiteout; same outcome' }
      : {}),
  };
};

/** TestUnpackHardlink: its entries; `hardToSymlinkTarget` is "../../../link" upstream. */
const HARDLINK_CONTENT = "some content we won't check";
const hardlinkEntries = (hardToSymlinkTarget: string): RawEntry[] => [
  { name: 'regular', data: HARDLINK_CONTENT, mode: 0o644, uid: 0, gid: 0 },
  // Owners on a hard link must not be applied (to the file it links).
  { name: 'hard link', type: 'hardlink', linkname: '/regular', uid: 1337, gid: 2020 },
  { name: 'link', type: 'symlink', linkname: '../../../regular', uid: 0, gid: 0 },
  { name: 'hard link to symlink', type: 'hardlink', linkname: hardToSymlinkTarget, uid: 1337, gid: 2020 },
];
const hardlinkCheck: Check = (r) => {
  const [reg, sym, hardA, hardB] = ['regular', 'link', 'hard link', 'hard link to symlink'].map((p) => lstatSync(at(r, p)));
  expect(readFileSync(at(r, 'regular'), 'utf8')).toBe(HARDLINK_CONTENT);
  expect(reg!.ino).not.toBe(sym!.ino);
  expect(hardA!.ino).toBe(reg!.ino);
  expect(hardB!.ino).not.toBe(reg!.ino);
  expect(hardB!.ino).toBe(sym!.ino);
  expect(readlinkSync(at(r, 'hard link to symlink'))).toBe(readlinkSync(at(r, 'link')));
  expect([reg!.uid, reg!.gid, sym!.uid, sym!.gid]).toEqual([0, 0, 0, 0]);
};

const CASES: Case[] = [
  ...(
    [
      ['GarbagePrefix', '/..'],
      ['DotDotPrefix', '..'],
    ] as Array<[string, string]>
  ).map(sanitiseScoping),
  ...(
    [
      ['RootPrefix', '/'],
      ['GarbagePrefix1', '/../'],
      ['GarbagePrefix2', '/../../../../../../../../../../../../../../../'],
      ['GarbagePrefix3', '/./.././.././.././.././.././.././.././.././../'],
      ['DotDotPrefix', '..'],
    ] as Array<[string, string]>
  ).map(symlinkScoping),
  {
    name: 'TestUnpackEntryNonDirParent',
    layer: [file('nondir'), file('nondir/foo/bar/baz')],
    rejected: /entry "nondir\/foo\/bar\/baz": "nondir" is not a directory/,
    differs:
      'umoci replaces a regular file met as a parent by a directory (umoci#546); the agent refuses the layer, as moby (ENOTDIR from its implied-directory mkdir) and containerd (mkparent) do: a layer that lists a file and then writes under it is malformed',
  },
  { name: 'TestUnpackEntryParentDir', layer: [file('a/b/c/file', 'creating parentdirs')], check: fileValue('a/b/c/file', 'creating parentdirs') },
  ...(
    [
      ['FileInRoot', 'rootpath', false],
      ['HiddenFileInRoot', '.hiddenroot', false],
      ['FileInSubdir', 'some/path/file', false],
      ['HiddenFileInSubdir', 'another/path/.hiddenfile', false],
      ['DirInRoot', 'rootpath', true],
      ['HiddenDirInRoot', '.hiddenroot', true],
      ['DirInSubdir', 'some/path/dir', true],
      ['HiddenDirInSubdir', 'another/path/.hiddendir', true],
    ] as Array<[string, string, boolean]>
  ).map(whiteout),
  ...OPAQUE_TABLE.map(opaque),
  { name: 'TestUnpackHardlink', layer: hardlinkEntries('../../../link'), rejected: /entry "hard link to symlink" \(link target\): path "\.\.\/\.\.\/\.\.\/link" climbs out/, differs: CLAMPED },
  {
    // The rest of TestUnpackHardlink, with the target umoci's clamping makes of "../../../link".
    name: 'TestUnpackHardlink, "../../../link" written "/link"',
    layer: hardlinkEntries('/link'),
    check: hardlinkCheck,
  },
];

describeLayerCases(
  "umoci's oci/layer tests (v0.6.0), ported",
  CASES.map(({ layer, ...c }) => ({ ...c, tar: rawTar(layer) })),
);
