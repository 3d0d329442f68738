/**
 * The agent's unpack against umoci's on images with whiteouts, opaque directories, hard
 * links, symlinks (a merged-/usr `lib -> usr/lib` with `lib/x` in a later layer), setuid
 * files, owners, extended attributes (security.capability included), and gzip, zstd and
 * uncompressed layers: the trees must be identical in paths, types, modes, owners, link
 * targets, content and xattrs.
 */
import { chmodSync, chownSync, linkSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/log/logger.ts';
import { listImages } from '../../src/store/images.ts';
import { OciStore } from '../../src/store/oci-store.ts';
import { TransferStats } from '../../src/store/transfer-stats.ts';
import { unpackImage } from '../../src/unpack/unpack-image.ts';
import { requireRoot } from '../../testbed/netns.ts';
import { tarDir, writeImage, type Compression } from '../../testbed/oci-layout.ts';
import { must } from '../../testbed/proc.ts';
import { describeTree, hardlinkGroups } from '../../testbed/tree.ts';
import { tempDir } from '../../testbed/tmp.ts';

const CAP_NET_RAW_AND_SETFCAP = '0x0100000200200080000000000000000000000000'; // has a byte >= 0x80
const log = createLogger({ level: 'silent', pretty: false });

function file(p: string, content: string, mode = 0o644, owner?: [number, number]) {
  mkdirSync(path.dirname(p), { recursive: true });
  writeFileSync(p, content);
  chmodSync(p, mode);
  if (owner) chownSync(p, owner[0], owner[1]);
}

/** Three layers as directories: a base with merged /usr, then changes and whiteouts. */
async function layerTars(dir: string): Promise<Buffer[]> {
  const l1 = path.join(dir, 'l1');
  mkdirSync(path.join(l1, 'usr/lib'), { recursive: true });
  mkdirSync(path.join(l1, 'usr/bin'), { recursive: true });
  symlinkSync('usr/lib', path.join(l1, 'lib'));
  symlinkSync('usr/bin', path.join(l1, 'bin'));
  file(path.join(l1, 'usr/bin/ping'), '#!ping\n', 0o755);
  await must('setfattr', ['-n', 'security.capability', '-v', CAP_NET_RAW_AND_SETFCAP, path.join(l1, 'usr/bin/ping')]);
  file(path.join(l1, 'usr/bin/su'), '#!su\n', 0o4755);
  file(path.join(l1, 'usr/bin/wall'), '#!wall\n', 0o2755, [0, 5]);
  file(path.join(l1, 'etc/passwd'), 'root:x:0:0::/root:/bin/sh\n');
  file(path.join(l1, 'etc/old.conf'), 'old\n');
  file(path.join(l1, 'home/user/.profile'), 'export A=1\n', 0o600, [1000, 1000]);
  mkdirSync(path.join(l1, 'opt/app/cache'), { recursive: true });
  file(path.join(l1, 'opt/app/cache/a'), 'a\n');
  file(path.join(l1, 'opt/app/keep-me-not'), 'x\n');
  file(path.join(l1, 'var/lib/data.bin'), 'data'.repeat(1000));
  linkSync(path.join(l1, 'var/lib/data.bin'), path.join(l1, 'var/lib/data.hardlink'));
  mkdirSync(path.join(l1, 'tmp'));
  chmodSync(path.join(l1, 'tmp'), 0o1777);
  await must('setfattr', ['-n', 'user.note', '-v', '0xff00fe', path.join(l1, 'home/user/.profile')]);

  const l2 = path.join(dir, 'l2');
  mkdirSync(path.join(l2, 'lib'), { recursive: true }); // only lib/x goes in the tar: no "lib/" entry
  file(path.join(l2, 'lib/x'), 'x through the merged /usr symlink\n');
  file(path.join(l2, 'etc/.wh.old.conf'), '');
  file(path.join(l2, 'opt/app/.wh..wh..opq'), '');
  file(path.join(l2, 'opt/app/new'), 'new\n');
  file(path.join(l2, 'etc/passwd'), 'root:x:0:0::/root:/bin/bash\n');

  const l3 = path.join(dir, 'l3');
  file(path.join(l3, 'usr/bin/.wh.wall'), '');
  file(path.join(l3, 'usr/lib/x'), 'replaced in layer 3\n', 0o640, [0, 42]);
  mkdirSync(path.join(l3, 'home/user'), { recursive: true });
  symlinkSync('../../etc/passwd', path.join(l3, 'home/user/passwd-link'));
  return [await tarDir(l1), await tarDir(l2, ['lib/x', 'etc/.wh.old.conf', 'opt/app/.wh..wh..opq', 'opt/app/new', 'etc/passwd']), await tarDir(l3)];
}

describe('unpack matches umoci', () => {
  it.each<[string, Compression[]]>([
    ['gzip layers', ['gzip', 'gzip', 'gzip']],
    ['zstd, gzip and uncompressed layers', ['zstd', 'gzip', 'none']],
  ])('%s', async (_name, compressions) => {
    requireRoot('owners and security.capability in the rootfs');
    const dir = tempDir('ks-parity-');
    const tars = await layerTars(path.join(dir, 'src'));
    const layout = path.join(dir, 'layout');
    writeImage(
      layout,
      'parity',
      tars.map((tar, i) => ({ tar, compression: compressions[i]! })),
    );
    // umoci 0.4.7 reads only gzip layers: it unpacks the same tars gzip-compressed.
    const umociLayout = path.join(dir, 'umoci-layout');
    writeImage(
      umociLayout,
      'parity',
      tars.map((tar) => ({ tar, compression: 'gzip' })),
    );
    await must('umoci', ['unpack', '--image', `${umociLayout}:parity`, path.join(dir, 'bundle')]);

    const store = await OciStore.open(layout);
    const [image] = await listImages(store, await TransferStats.load(layout));
    const staged = await unpackImage({ store, image: image!, stagingBase: path.join(dir, 'staging'), libDir: path.join(dir, 'lib'), log });

    const ours = await describeTree(staged.rootfs);
    const theirs = await describeTree(path.join(dir, 'bundle/rootfs'));
    expect(ours).toEqual(theirs);
    // What the features must have produced, so that equality is not two identical mistakes.
    expect(ours['usr/lib/x']).toMatchObject({ type: 'file', mode: '640', gid: 42 });
    expect(ours['lib']).toMatchObject({ type: 'symlink', target: 'usr/lib' });
    expect(ours['etc/old.conf']).toBeUndefined();
    expect(ours['usr/bin/wall']).toBeUndefined();
    expect(Object.keys(ours).filter((p) => p.startsWith('opt/app/'))).toEqual(['opt/app/new']);
    expect(ours['usr/bin/su']!.mode).toBe('4755');
    expect(ours['usr/bin/ping']!.xattrs).toContain(`security.capability=${CAP_NET_RAW_AND_SETFCAP}`);
    expect(ours['home/user/.profile']).toMatchObject({ uid: 1000, gid: 1000, mode: '600', xattrs: 'user.note=0xff00fe' });
    expect(ours['etc/passwd']!.sha256).not.toBe(undefined);
    expect(ours['tmp']!.mode).toBe('1777');
    const paths = Object.keys(ours);
    expect(hardlinkGroups(staged.rootfs, paths)).toEqual([['var/lib/data.bin', 'var/lib/data.hardlink']]);
    expect(hardlinkGroups(staged.rootfs, paths)).toEqual(hardlinkGroups(path.join(dir, 'bundle/rootfs'), paths));
  });
});
