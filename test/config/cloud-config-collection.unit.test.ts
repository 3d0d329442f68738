/** Kairos' collection rules (kairos-sdk collector): directories, order, header, size, extensions. */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { collectCloudConfig, hasValidHeader } from '../../src/config/cloud-config.ts';
import { toPlain } from '../../src/config/yaml-tree.ts';
import { Root } from '../../src/fs/root.ts';
import { tempDir } from '../../testbed/tmp.ts';

function put(root: string, file: string, text: string | Buffer): string {
  const full = path.join(root, file);
  mkdirSync(path.dirname(full), { recursive: true });
  writeFileSync(full, text);
  return full;
}

describe('hasValidHeader', () => {
  it('accepts the three headers, with trailing whitespace, within the first lines', () => {
    expect(hasValidHeader('#cloud-config\na: 1')).toBe(true);
    expect(hasValidHeader('#kairos-config\n')).toBe(true);
    expect(hasValidHeader('#node-config\r\n')).toBe(true);
    expect(hasValidHeader('#cloud-config   \n')).toBe(true);
    expect(hasValidHeader('# comment\n## jinja\n#cloud-config\n')).toBe(true);
  });
  it('rejects missing, indented, suffixed or late headers', () => {
    expect(hasValidHeader('a: 1\n')).toBe(false);
    expect(hasValidHeader(' #cloud-config\n')).toBe(false);
    expect(hasValidHeader('#cloud-configs\n')).toBe(false);
    expect(hasValidHeader(`${'x: 1\n'.repeat(10)}#cloud-config\n`)).toBe(false);
    // Go's SplitN(data, "\n", 10): the 10th part is the rest of the file, so a header on
    // line 10 counts only when nothing follows it.
    expect(hasValidHeader(`${'# c\n'.repeat(9)}#cloud-config`)).toBe(true);
    expect(hasValidHeader(`${'# c\n'.repeat(9)}#cloud-config\nk: v\n`)).toBe(false);
  });
});

describe('collectCloudConfig', () => {
  it('reads the four directories in Kairos order, later overriding earlier', async () => {
    const dir = tempDir();
    put(dir, 'run/initramfs/live/a.yaml', '#cloud-config\nv: live\nlive: 1\n');
    put(dir, 'etc/kairos/a.yaml', '#cloud-config\nv: etc\netc: 1\n');
    put(dir, 'usr/local/cloud-config/a.yaml', '#cloud-config\nv: usr\nusr: 1\n');
    put(dir, 'oem/a.yaml', '#cloud-config\nv: oem\noem: 1\n');
    const cc = await collectCloudConfig(new Root(dir));
    expect(toPlain(cc.values)).toEqual({ v: 'oem', live: 1, etc: 1, usr: 1, oem: 1 });
    expect(cc.sources.map((s) => path.relative(dir, s))).toEqual(['run/initramfs/live/a.yaml', 'etc/kairos/a.yaml', 'usr/local/cloud-config/a.yaml', 'oem/a.yaml']);
  });

  it('walks recursively in byte order and does not follow directory symlinks', async () => {
    const dir = tempDir();
    put(dir, 'oem/b.yaml', '#cloud-config\nv: b\n');
    put(dir, 'oem/a/z.yaml', '#cloud-config\nv: a/z\n');
    put(dir, 'oem/B.yaml', '#cloud-config\nv: B\n');
    put(dir, 'elsewhere/x.yaml', '#cloud-config\nv: linked\n');
    symlinkSync(path.join(dir, 'elsewhere'), path.join(dir, 'oem/zz'));
    const cc = await collectCloudConfig(new Root(dir));
    expect(cc.sources.map((s) => path.relative(dir, s))).toEqual(['oem/B.yaml', 'oem/a/z.yaml', 'oem/b.yaml']);
    expect(toPlain(cc.values)).toEqual({ v: 'b' });
  });

  it('skips files without a header, other extensions, and files of 2 MiB or more', async () => {
    const dir = tempDir();
    put(dir, 'oem/01.yaml', 'v: noheader\n');
    put(dir, 'oem/02.json', '#cloud-config\nv: json\n');
    put(dir, 'oem/03.YAML', '#cloud-config\nv: upper\n');
    put(dir, 'oem/04.yml', '#cloud-config\nv: yml\n');
    // Kairos compares whole MiB with "> 1": just under 2 MiB is still read.
    put(dir, 'oem/05.yaml', `#cloud-config\nbig: 1\n#${'x'.repeat(2 * 1024 * 1024 - 30)}\n`);
    put(dir, 'oem/06.yaml', `#cloud-config\nhuge: 1\n#${'x'.repeat(2 * 1024 * 1024)}\n`);
    const cc = await collectCloudConfig(new Root(dir));
    expect(toPlain(cc.values)).toEqual({ v: 'yml', big: 1 });
    const skipped = Object.fromEntries(cc.skipped.map((s) => [path.basename(s.file), s.reason]));
    expect(skipped['01.yaml']).toMatch(/no valid header/);
    expect(skipped['06.yaml']).toMatch(/too big/);
    expect(skipped['02.json']).toBeUndefined();
  });

  it('skips a file with a YAML error, as Kairos does, and says where the error is', async () => {
    const dir = tempDir();
    put(dir, 'oem/10.yaml', '#cloud-config\nv: good\n');
    const bad = put(dir, 'oem/20.yaml', '#cloud-config\nkairos-spegel:\n  mirror: [unclosed\n');
    const cc = await collectCloudConfig(new Root(dir));
    expect(toPlain(cc.values)).toEqual({ v: 'good' });
    expect(cc.skipped).toHaveLength(1);
    expect(cc.skipped[0]!.file).toBe(bad);
    expect(cc.skipped[0]!.syntax?.at).toMatchObject({ file: bad, line: expect.any(Number) });
  });

  it('resolves YAML anchors and merge keys', async () => {
    const dir = tempDir();
    put(dir, 'oem/a.yaml', '#cloud-config\nbase: &b {ports: [1]}\nkairos-spegel:\n  mirror:\n    <<: *b\n    resolve_tags: false\n');
    const cc = await collectCloudConfig(new Root(dir));
    expect(toPlain(cc.values)).toMatchObject({ 'kairos-spegel': { mirror: { ports: [1], resolve_tags: false } } });
  });
});
