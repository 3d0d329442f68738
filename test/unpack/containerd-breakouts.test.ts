/**
 * containerd's own hostile-archive suite, ported: the cases of `TestBreakouts` in
 * github.com/containerd/containerd/v2 pkg/archive/tar_test.go (v2.2.9), each named as
 * upstream names it. `lower` is the file system before the layer (upstream's `apply`), as a
 * layer of its own; `layer` is the archive (upstream's `w`). Where containerd clamps a path
 * that climbs with `..` to the root and applies it, the agent refuses the layer: no image
 * needs `..` in an entry name or a hard link target, and a refused upgrade image is safer
 * than a guessed one. Those cases say so (`differs`).
 */
import { all, describeLayerCases, fileValue, notExists, notSameInode, sameInode, isDir, type Check, type LayerCase } from '../../testbed/layer-cases.ts';
import { rawTar, type RawEntry } from '../../testbed/oci-layout.ts';

// tartest / fstest, as entries: Symlink(target, name), Link(target, name).
const dir = (name: string, mode = 0o755): RawEntry => ({ name, type: 'dir', mode });
const file = (name: string, data: string, mode = 0o644): RawEntry => ({ name, data, mode });
const symlink = (target: string, name: string): RawEntry => ({ name, type: 'symlink', linkname: target });
const link = (target: string, name: string): RawEntry => ({ name, type: 'hardlink', linkname: target });

const unbroken: Check = fileValue('etc/unbroken', 'unbroken');

type Case = Omit<LayerCase, 'tar'> & { layer: RawEntry[] };

const CLAMPED = 'containerd clamps the `..` at the root and applies it; the agent refuses any entry or link target with `..`';
const CASES: Case[] = [
  { name: 'SymlinkAbsolute', layer: [dir('etc'), symlink('/etc', 'localetc'), file('/localetc/unbroken', 'unbroken')], check: unbroken },
  { name: 'SymlinkUpAndOut', layer: [dir('etc'), dir('dummy'), symlink('/dummy/../etc', 'localetc'), file('/localetc/unbroken', 'unbroken')], check: unbroken },
  { name: 'SymlinkMultipleAbsolute', layer: [dir('etc'), dir('dummy'), symlink('/etc', '/dummy/etc'), symlink('/dummy/etc', 'localetc'), file('/dummy/etc/unbroken', 'unbroken')], check: unbroken },
  { name: 'SymlinkMultipleRelative', layer: [dir('etc'), dir('dummy'), symlink('/etc', '/dummy/etc'), symlink('./dummy/etc', 'localetc'), file('/dummy/etc/unbroken', 'unbroken')], check: unbroken },
  {
    name: 'SymlinkEmptyFile',
    layer: [dir('etc'), file('etc/emptied', 'notempty'), symlink('/etc', 'localetc'), file('/localetc/emptied', '')],
    check: fileValue('etc/emptied', ''),
  },
  {
    name: 'HardlinkRelative',
    layer: [dir('etc', 0o770), file('/etc/passwd', 'inside'), dir('breakouts'), symlink('../../etc', 'breakouts/d1'), link('/breakouts/d1/passwd', 'breakouts/mypasswd')],
    check: sameInode('breakouts/mypasswd', 'etc/passwd'),
  },
  {
    name: 'HardlinkDownAndOut',
    layer: [
      dir('etc', 0o770),
      file('/etc/passwd', 'inside'),
      dir('breakouts'),
      dir('downandout'),
      symlink('../downandout/../../etc', 'breakouts/d1'),
      link('/breakouts/d1/passwd', 'breakouts/mypasswd'),
    ],
    check: sameInode('breakouts/mypasswd', 'etc/passwd'),
  },
  {
    name: 'HardlinkAbsolute',
    layer: [dir('etc', 0o770), file('/etc/passwd', 'inside'), symlink('/etc', 'localetc'), link('/localetc/passwd', 'localpasswd')],
    check: sameInode('localpasswd', 'etc/passwd'),
  },
  {
    name: 'HardlinkRelativeLong',
    layer: [dir('etc', 0o770), file('/etc/passwd', 'inside'), symlink('../../../../../../../etc', 'localetc'), link('/localetc/passwd', 'localpasswd')],
    check: sameInode('localpasswd', 'etc/passwd'),
  },
  {
    name: 'HardlinkRelativeUpAndOut',
    layer: [dir('etc', 0o770), file('/etc/passwd', 'inside'), symlink('upandout/../../../etc', 'localetc'), link('/localetc/passwd', 'localpasswd')],
    check: sameInode('localpasswd', 'etc/passwd'),
  },
  { name: 'HardlinkDirectRelative', layer: [dir('etc', 0o770), file('/etc/passwd', 'inside'), link('../../../../../etc/passwd', 'localpasswd')], rejected: /climbs out with "\.\."/, differs: CLAMPED },
  { name: 'HardlinkDirectAbsolute', layer: [dir('etc', 0o770), file('/etc/passwd', 'inside'), link('/etc/passwd', 'localpasswd')], check: sameInode('localpasswd', 'etc/passwd') },
  {
    name: 'SymlinkParentDirectory',
    layer: [dir('etc', 0o770), file('/etc/passwd', 'inside'), symlink('/etc/', '..'), link('/etc/passwd', 'localpasswd')],
    rejected: /climbs out with "\.\."/,
    differs: CLAMPED,
  },
  {
    name: 'SymlinkEmptyFilename',
    layer: [dir('etc', 0o770), file('/etc/passwd', 'inside'), symlink('/etc/', ''), link('/etc/passwd', 'localpasswd')],
    rejected: /the root of a layer must be a directory/,
    differs: 'containerd skips an entry that names the root as a symlink; the agent refuses the layer',
  },
  {
    name: 'SymlinkParentRelative',
    layer: [dir('etc', 0o770), file('/etc/passwd', 'inside'), symlink('/etc/', 'localetc/sub/..'), link('/etc/passwd', '/localetc/localpasswd')],
    rejected: /climbs out with "\.\."/,
    differs: CLAMPED,
  },
  {
    name: 'SymlinkSlashEnded',
    layer: [dir('etc', 0o770), file('/etc/passwd', 'inside'), dir('localetc/', 0o770), link('/etc/passwd', '/localetc/localpasswd')],
    check: sameInode('localetc/localpasswd', 'etc/passwd'),
  },
  {
    name: 'SymlinkOverrideDirectory',
    lower: [dir('/etc/'), file('/etc/passwd', 'inside'), dir('/localetc/')],
    layer: [symlink('/etc', 'localetc'), link('/etc/passwd', '/localetc/localpasswd')],
    check: sameInode('etc/localpasswd', 'etc/passwd'),
  },
  {
    name: 'SymlinkOverrideDirectoryRelative',
    lower: [dir('/etc/'), file('/etc/passwd', 'inside'), dir('/localetc/')],
    layer: [symlink('../../etc', 'localetc'), link('/etc/passwd', '/localetc/localpasswd')],
    check: sameInode('etc/localpasswd', 'etc/passwd'),
  },
  {
    name: 'DirectoryOverrideSymlink',
    lower: [dir('/etc/'), file('/etc/passwd', 'inside'), symlink('/etc', 'localetc')],
    layer: [dir('/localetc/'), link('/etc/passwd', '/localetc/localpasswd')],
    check: all(sameInode('localetc/localpasswd', 'etc/passwd'), isDir('localetc')),
  },
  {
    name: 'DirectoryOverrideSymlinkAndHardlink',
    lower: [dir('/etc/'), file('/etc/passwd', 'inside'), symlink('etc', 'localetc'), link('/etc/passwd', '/localetc/localpasswd')],
    layer: [dir('/localetc/'), file('/localetc/localpasswd', 'different')],
    check: all(notSameInode('localetc/localpasswd', 'etc/passwd'), fileValue('etc/passwd', 'inside')),
  },
  { name: 'WhiteoutRootParent', lower: [dir('/etc/'), file('/etc/passwd', 'inside')], layer: [file('.wh...', '')], rejected: /whiteout of "\.\."|climbs out/ },
  { name: 'WhiteoutParent', lower: [dir('/etc/'), file('/etc/passwd', 'inside')], layer: [file('etc/.wh...', '')], rejected: /whiteout of "\.\."|climbs out/ },
  { name: 'WhiteoutRoot', lower: [dir('/etc/'), file('/etc/passwd', 'inside')], layer: [file('.wh..', '')], rejected: /whiteout of "\."/ },
  { name: 'WhiteoutCurrentDirectory', lower: [dir('/etc/'), file('/etc/passwd', 'inside')], layer: [file('etc/.wh..', '')], rejected: /whiteout of "\."/ },
  {
    name: 'WhiteoutSymlink',
    lower: [dir('/etc/'), file('/etc/passwd', 'all users'), symlink('/etc', 'localetc')],
    layer: [file('.wh.localetc', '')],
    check: all(fileValue('etc/passwd', 'all users'), notExists('localetc')),
  },
  {
    name: 'WhiteoutSymlinkPath',
    lower: [dir('/etc/'), file('/etc/passwd', 'all users'), file('/etc/whitedout', 'ahhhh whiteout'), symlink('/etc', 'localetc')],
    layer: [file('localetc/.wh.whitedout', '')],
    check: all(fileValue('etc/passwd', 'all users'), notExists('etc/whitedout')),
  },
  {
    name: 'WhiteoutDirectoryName',
    lower: [dir('/etc/'), file('/etc/passwd', 'all users'), file('/etc/whitedout', 'ahhhh whiteout'), symlink('/etc', 'localetc')],
    layer: [file('.wh.etc/somefile', 'non-empty')],
    check: all(fileValue('etc/passwd', 'all users'), fileValue('.wh.etc/somefile', 'non-empty')),
  },
  {
    name: 'WhiteoutDeadSymlinkParent',
    lower: [dir('/etc/'), file('/etc/passwd', 'all users'), symlink('/dne', 'localetc')],
    layer: [file('localetc/.wh.etc', '')],
    check: fileValue('etc/passwd', 'all users'),
  },
  {
    name: 'WhiteoutRelativePath',
    lower: [dir('/etc/'), file('/etc/passwd', 'all users'), symlink('/dne', 'localetc')],
    layer: [file('dne/../.wh.etc', '')],
    rejected: /climbs out with "\.\."/,
    differs: CLAMPED,
  },
  {
    name: 'WhiteoutOpaque',
    lower: [dir('/etc/'), file('/etc/passwd', 'all users'), file('/etc/shadow', 'root:secret', 0o600)],
    layer: [file('etc/.wh..wh..opq', '', 0o600), file('etc/group', 'all groups')],
    check: all(notExists('etc/passwd'), notExists('etc/shadow'), fileValue('etc/group', 'all groups')),
  },
  {
    name: 'WhiteoutOpaqueOutOfOrder',
    lower: [dir('/etc/'), file('/etc/passwd', 'all users')],
    layer: [file('etc/group', 'all groups'), file('etc/.wh..wh..opq', '', 0o600)],
    check: all(notExists('etc/passwd'), fileValue('etc/group', 'all groups')),
  },
  {
    name: 'SymlinkOverridePath',
    layer: [
      dir('foo'),
      dir('foo/tmp'),
      file('foo/tmp/breakout', '\x00\x01\x02'),
      symlink('/', 'foo'),
      file('foo/tmp/breakout', '\x03\x04\x05'),
      dir('foo'),
      dir('foo/tmp'),
      file('foo/tmp/breakout', '\x06\x07\x08'),
    ],
    check: all(fileValue('foo/tmp/breakout', '\x06\x07\x08'), fileValue('tmp/breakout', '\x03\x04\x05')),
  },
];

describeLayerCases(
  "containerd's TestBreakouts (pkg/archive, v2.2.9), ported",
  CASES.map(({ layer, ...c }) => ({ ...c, tar: rawTar(layer) })),
);
