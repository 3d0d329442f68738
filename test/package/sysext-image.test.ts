/**
 * The sysext images, checked with the tools Kairos itself relies on: systemd-dissect (how
 * Kairos validates images), veritysetup (the dm-verity hash tree and the root hash its
 * partition UUIDs carry) and systemd-sysext, which merges the amd64 image into a scratch root
 * and refuses the arm64 one on this x86-64 machine. systemd here is 252, which also shows why
 * Kairos flavors with systemd before 254 merge no extension: Kairos' drop-in passes
 * --image-policy. (Which systemd mounts the image through dm-verity is in README; this
 * machine's kernel has no device-mapper to show it.)
 */
import { copyFileSync, linkSync, lstatSync, mkdirSync, readFileSync, readlinkSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readGpt } from '../../testbed/gpt.ts';
import { requireRoot } from '../../testbed/netns.ts';
import { sysextImage, SYSTEMD_ARCH, VERSION, type NodeArch } from '../../testbed/package.ts';
import { versionLine } from '../../testbed/agent.ts';
import { must, run } from '../../testbed/proc.ts';
import { listFiles } from '../../testbed/files.ts';
import { tempDir } from '../../testbed/tmp.ts';

const ARCHES: NodeArch[] = ['amd64', 'arm64'];

interface Dissected {
  extensionRelease: string[];
  useSystemExtension: boolean;
  mounts: { designator: string; fstype: string; architecture: string }[];
}

async function dissect(image: string): Promise<{ text: string; json: Dissected }> {
  requireRoot('systemd-dissect attaches the image to a loop device');
  const text = await must('systemd-dissect', ['--no-pager', image]);
  const json = JSON.parse(await must('systemd-dissect', ['--json=short', image])) as Dissected;
  return { text, json };
}

describe.each(ARCHES)('the %s sysext image', (arch) => {
  it(`is an extension for the system per systemd-dissect, with ARCHITECTURE=${SYSTEMD_ARCH[arch]}`, async () => {
    const image = sysextImage(arch);
    expect(path.basename(image)).toBe(`kairos-spegel-${VERSION}-${arch}.sysext.raw`);
    const { text, json } = await dissect(image);
    expect(json.extensionRelease).toEqual(['ID=_any', `ARCHITECTURE=${SYSTEMD_ARCH[arch]}`, 'SYSEXT_SCOPE=system', 'EXTENSION_RELOAD_MANAGER=1', 'IMAGE_ID=kairos-spegel', `IMAGE_VERSION=${VERSION}`]);
    expect(json.useSystemExtension).toBe(true);
    expect(text).toMatch(/Ext\. Rel\.: ID=_any\n\s+ARCHITECTURE=/);
    expect(text).toContain('✓ extension for system');
    expect(json.mounts.map((m) => [m.designator, m.fstype, m.architecture])).toEqual([
      ['usr', 'squashfs', SYSTEMD_ARCH[arch]],
      ['usr-verity', 'DM_verity_hash', SYSTEMD_ARCH[arch]],
    ]);
  });

  it('is accepted under any file name (extension-release.kairos-spegel carries user.extension-release.strict=0)', async () => {
    const renamed = path.join(tempDir(), 'renamed-by-someone.raw');
    try {
      linkSync(sysextImage(arch), renamed);
    } catch {
      copyFileSync(sysextImage(arch), renamed); // the temp dir is on another file system
    }
    const { json } = await dissect(renamed);
    expect(json.useSystemExtension).toBe(true);
    expect(json.extensionRelease).toContain(`ARCHITECTURE=${SYSTEMD_ARCH[arch]}`);
  });

  it('has usr and usr-verity partitions of its architecture whose UUIDs make a root hash veritysetup verifies', async () => {
    const parts = readGpt(sysextImage(arch));
    const known = await must('systemd-id128', ['show', '-u', `usr-${SYSTEMD_ARCH[arch]}`, `usr-${SYSTEMD_ARCH[arch]}-verity`]);
    const typeOf = (name: string) => new RegExp(`^${name}\\s+(\\S+)$`, 'm').exec(known)![1];
    expect(parts.map((p) => p.type)).toEqual([typeOf(`usr-${SYSTEMD_ARCH[arch]}`), typeOf(`usr-${SYSTEMD_ARCH[arch]}-verity`)]);

    const dir = tempDir();
    const [data, hash] = parts.map((p, i) => {
      const file = path.join(dir, `part${i}`);
      writeFileSync(file, readFileSync(sysextImage(arch)).subarray(p.offset, p.offset + p.size));
      return file;
    }) as [string, string];
    expect(await must('unsquashfs', ['-s', data])).toMatch(/Compression xz/);
    expect(await must('veritysetup', ['dump', hash])).toMatch(/Data block size:\s+4096/);
    // The Discoverable Partitions Specification: data UUID + verity UUID = root hash.
    const rootHash = parts.map((p) => p.uuid.replaceAll('-', '')).join('');
    expect((await run('veritysetup', ['verify', data, hash, rootHash])).code).toBe(0);
    const wrong = rootHash.slice(0, -1) + (rootHash.endsWith('0') ? '1' : '0');
    expect((await run('veritysetup', ['verify', data, hash, wrong])).code).not.toBe(0);
  });

  it('holds the launcher, the agent, its glibc, the extension-release and the units, and nothing else', async () => {
    const dir = tempDir();
    requireRoot('systemd-dissect --copy-from attaches the image to a loop device');
    await must('systemd-dissect', ['--copy-from', sysextImage(arch), '/usr', path.join(dir, 'usr')]);
    const loader = arch === 'amd64' ? 'ld-linux-x86-64.so.2' : 'ld-linux-aarch64.so.1';
    const units = 'lib/systemd/system';
    expect(listFiles(path.join(dir, 'usr'))).toEqual(
      [
        'bin/kairos-spegel',
        'lib/extension-release.d/extension-release.kairos-spegel',
        ...['kairos-spegel', loader, 'libc.so.6', 'libdl.so.2', 'libgcc_s.so.1', 'libm.so.6', 'libpthread.so.0', 'libstdc++.so.6'].map((f) => `lib/kairos-spegel/${f}`),
        ...['kairos-spegel-boot.service', 'kairos-spegel-network.service', 'kairos-spegel-reconcile.service', 'kairos-spegel-reconcile.timer', 'kairos-spegel.target'].map((f) => `${units}/${f}`),
        ...['kairos-spegel-boot.service', 'kairos-spegel-network.service', 'kairos-spegel-reconcile.timer'].map((f) => `${units}/kairos-spegel.target.wants/${f}`),
        `${units}/sysinit.target.d/50-kairos-spegel.conf`,
      ].sort(),
    );
    const usr = (p: string) => path.join(dir, 'usr', p);
    for (const link of readdirSync(usr(`${units}/kairos-spegel.target.wants`))) {
      expect(lstatSync(usr(`${units}/kairos-spegel.target.wants/${link}`)).isSymbolicLink()).toBe(true);
      expect(readlinkSync(usr(`${units}/kairos-spegel.target.wants/${link}`))).toBe(`../${link}`);
    }
    expect(lstatSync(usr('bin/kairos-spegel')).mode & 0o777).toBe(0o755);
    expect(readFileSync(usr('bin/kairos-spegel'), 'utf8')).toMatch(new RegExp(`^exec /usr/lib/kairos-spegel/${loader.replaceAll('.', '\\.')} .* /usr/lib/kairos-spegel/kairos-spegel "\\$@"$`, 'm'));
    expect(await must('readelf', ['-h', usr('lib/kairos-spegel/kairos-spegel')])).toMatch(arch === 'amd64' ? /Machine:\s+Advanced Micro Devices X86-64/ : /Machine:\s+AArch64/);
    expect(await must('getfattr', ['--only-values', '-n', 'user.extension-release.strict', usr('lib/extension-release.d/extension-release.kairos-spegel')])).toBe('0');
  });
});

describe('the amd64 sysext image', () => {
  it('holds a binary that runs --version once copied out (systemd-dissect --copy-from)', async () => {
    const dir = tempDir();
    requireRoot('systemd-dissect --copy-from attaches the image to a loop device');
    const binary = path.join(dir, 'kairos-spegel');
    await must('systemd-dissect', ['--copy-from', sysextImage('amd64'), '/usr/lib/kairos-spegel/kairos-spegel', binary]);
    expect(await must(binary, ['--version'])).toMatch(versionLine(VERSION));
  });
});

/**
 * Runs the real systemd-sysext on a scratch root holding only os-release, a static busybox
 * as /bin/sh and the given image, inside a private mount namespace (the merge disappears
 * with it), then `script` in that namespace.
 */
async function sysextOnScratchRoot(image: string, script: string) {
  requireRoot('systemd-sysext mounts the image and an overlay (in a private mount namespace)');
  if (process.arch !== 'x64') throw new Error(`these checks assume an x86-64 machine, this is ${process.arch}`);
  const root = tempDir();
  mkdirSync(path.join(root, 'usr/lib'), { recursive: true });
  mkdirSync(path.join(root, 'var/lib/extensions'), { recursive: true });
  mkdirSync(path.join(root, 'bin'));
  copyFileSync('/etc/os-release', path.join(root, 'usr/lib/os-release'));
  copyFileSync(image, path.join(root, 'var/lib/extensions', path.basename(image)));
  copyFileSync('/bin/busybox', path.join(root, 'bin/busybox'));
  await must('ln', ['-s', 'busybox', path.join(root, 'bin/sh')]);
  // systemd-sysext builds the overlay in a child mount namespace under /run and moves it
  // into place: both need shared propagation, kept inside this namespace.
  const setup = `set -e; mount -t tmpfs tmpfs /run; mount --make-shared /run; mount --bind "$R" "$R"; mount --make-shared "$R"`;
  return run('unshare', ['-m', '--propagation', 'private', 'sh', '-c', `${setup}; ${script}`], { env: { ...process.env, R: root, SYSTEMD_LOG_LEVEL: 'debug' } });
}

describe('systemd-sysext', () => {
  it('merges the amd64 image; the merged /usr runs the agent in a root that has no other glibc', async () => {
    const r = await sysextOnScratchRoot(sysextImage('amd64'), 'systemd-sysext --root="$R" merge; chroot "$R" /usr/bin/kairos-spegel --version; ls "$R/usr/lib/systemd/system"');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Using extensions 'kairos-spegel-${VERSION}-amd64.sysext'`);
    expect(r.stdout).toContain(`kairos-spegel ${VERSION} (commit `);
    expect(r.stdout).toContain('kairos-spegel-boot.service\n');
  });

  it('refuses the arm64 image on this x86-64 machine because of its ARCHITECTURE', async () => {
    const r = await sysextOnScratchRoot(sysextImage('arm64'), 'systemd-sysext --root="$R" merge; test ! -e "$R/usr/bin/kairos-spegel"');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`Extension 'kairos-spegel-${VERSION}-arm64.sysext' is for architecture 'arm64', but deployed on top of 'x86-64'.`);
  });

  it("with Kairos' non-UKI drop-in command line, systemd 252 merges nothing: --image-policy is unknown before 254", async () => {
    const version = await must('systemd-sysext', ['--version']);
    expect(version).toMatch(/^systemd 252 /);
    const kairos = 'rc=0; systemd-sysext --root="$R" refresh --image-policy="root=verity+absent:usr=verity+absent" || rc=$?; echo "exit $rc"; test ! -e "$R/usr/bin/kairos-spegel"';
    const r = await sysextOnScratchRoot(sysextImage('amd64'), kairos);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/unrecognized option '--image-policy/);
    expect(r.stdout).toMatch(/^exit 1$/m);
  });
});
