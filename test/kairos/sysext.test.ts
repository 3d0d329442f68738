/**
 * The sysext image taken by the real kairos-agent of each pinned version on a node root:
 * `sysext install file:` copies it into /var/lib/kairos/extensions (and verifies nothing),
 * `sysext enable --common` links it for every boot state (never --now here: that would
 * restart this machine's systemd-sysext), and systemd-dissect shows the dm-verity partition
 * it will be merged with.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, lstatSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { KairosNode } from '../../testbed/kairos-node.ts';
import { DIST, sysextImage } from '../../testbed/package.ts';
import { kairosAgents } from '../../testbed/peers.ts';
import { must } from '../../testbed/proc.ts';
import { tempDir } from '../../testbed/tmp.ts';

const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describe.each(kairosAgents())('$label: the sysext image', ({ binary }) => {
  it('install file: puts it in /var/lib/kairos/extensions, enable --common links it, systemd-dissect shows its verity partition', async () => {
    const image = sysextImage('amd64');
    const name = path.basename(image);
    const node = KairosNode.prepare(tempDir('ks-ksysext-'));
    const agent = (args: string[]) => node.run([binary, ...args], { binds: [DIST, path.dirname(binary)] });

    const install = await agent(['sysext', 'install', `file:${image}`]);
    expect(install.code, install.stdout + install.stderr).toBe(0);
    const stored = node.path(`/var/lib/kairos/extensions/${name}`);
    expect(sha256(stored)).toBe(sha256(image));

    const enable = await agent(['sysext', 'enable', '--common', 'kairos-spegel']);
    expect(enable.code, enable.stdout + enable.stderr).toBe(0);
    const link = node.path(`/var/lib/kairos/extensions/common/${name}`);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe(`/var/lib/kairos/extensions/${name}`);

    const list = await agent(['sysext', 'list', '--common']);
    expect(list.stdout + list.stderr).toContain(name);

    const dissected = JSON.parse(await must('systemd-dissect', ['--json=short', stored])) as { mounts: { designator: string; fstype: string }[] };
    expect(dissected.mounts.map((m) => m.designator)).toEqual(['usr', 'usr-verity']);
  });

  it('enable takes NAME as a regular expression: with two versions stored, the bare name takes the older; the anchored file name the one meant', async () => {
    const image = sysextImage('amd64');
    const name = path.basename(image);
    const older = name.replace(/^kairos-spegel-[^-]+-/, 'kairos-spegel-0.0.9-');
    const node = KairosNode.prepare(tempDir('ks-ksysext2-'));
    const agent = (args: string[]) => node.run([binary, ...args], { binds: [DIST, path.dirname(binary)] });
    for (const [file, as] of [
      [image, name],
      [image, older],
    ]) {
      copyFileSync(file!, node.path(`/root/${as}`));
      const r = await agent(['sysext', 'install', `file:/root/${as}`]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
    }
    const common = node.path('/var/lib/kairos/extensions/common');
    // The bare name matches both, and the first in lexical order wins: the older one.
    const loose = await agent(['sysext', 'enable', '--common', 'kairos-spegel']);
    expect(loose.code, loose.stdout + loose.stderr).toBe(0);
    expect(readdirSync(common)).toEqual([older]);
    rmSync(path.join(common, older));
    const exact = `^${name.replace(/[.+]/g, '\\$&')}$`;
    const r = await agent(['sysext', 'enable', '--common', exact]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(readdirSync(common)).toEqual([name]);
  });
});
