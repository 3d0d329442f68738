/**
 * The agent carries its glibc and always starts through it, so it runs on musl hosts
 * (Kairos Hadron, Alpine) as on glibc ones. Proven in a chroot that holds only the
 * installed agent (the sysext's /usr, or what the bundle's run.sh installs under /usr/local)
 * and a static busybox as /bin/sh: no glibc but the agent's own.
 *
 * amd64 runs natively through the launcher. This x86-64 machine has no binfmt_misc for
 * arm64, so the arm64 launcher's exec line is run through qemu-aarch64, which is carried
 * into the chroot with its own x86-64 libraries under /.host; no aarch64 library exists
 * there outside the agent's directory.
 */
import { closeSync, copyFileSync, lstatSync, mkdirSync, openSync, readFileSync, readSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { requireRoot } from '../../testbed/netns.ts';
import { bundleLayout, extractBundle, runBundle, sysextImage, VERSION, type NodeArch } from '../../testbed/package.ts';
import { must, run } from '../../testbed/proc.ts';
import { listFiles } from '../../testbed/files.ts';
import { tempDir } from '../../testbed/tmp.ts';

const EM_X86_64 = 62;
const EM_AARCH64 = 183;
/** For chroot itself; inside the chroot, PATH leads nowhere. */
const ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin' };

/** The ELF machine of a regular file, or undefined when it is no ELF file (or a symlink). */
function elfMachine(file: string): number | undefined {
  if (!lstatSync(file).isFile()) return undefined;
  const fd = openSync(file, 'r');
  try {
    const b = Buffer.alloc(20);
    if (readSync(fd, b, 0, 20, 0) < 20 || b.toString('latin1', 0, 4) !== '\x7fELF') return undefined;
    return b.readUInt16LE(18);
  } finally {
    closeSync(fd);
  }
}

/** A chroot with the agent installed the sysext's or the bundle's way, and busybox as /bin/sh. */
async function chrootWithAgent(arch: NodeArch, layout: 'sysext' | 'bundle'): Promise<{ root: string; prefix: string }> {
  requireRoot('systemd-dissect attaches the image to a loop device; chroot');
  const root = tempDir();
  let prefix: string;
  if (layout === 'sysext') {
    prefix = '/usr';
    await must('systemd-dissect', ['--copy-from', sysextImage(arch), '/usr', path.join(root, 'usr')]);
  } else {
    prefix = '/usr/local';
    const extracted = tempDir();
    await extractBundle(bundleLayout(), arch, extracted);
    const r = await runBundle(extracted, root);
    if (r.code !== 0) throw new Error(`run.sh failed:\n${r.stdout}${r.stderr}`);
  }
  mkdirSync(path.join(root, 'bin'), { recursive: true });
  copyFileSync('/bin/busybox', path.join(root, 'bin/busybox'));
  await must('ln', ['-s', 'busybox', path.join(root, 'bin/sh')]);
  expect(elfMachine(path.join(root, 'bin/busybox'))).toBe(EM_X86_64);
  expect(await must('readelf', ['-l', path.join(root, 'bin/busybox')])).not.toContain('INTERP'); // static
  return { root, prefix };
}

/** Files of `machine` in `root` (relative paths), i.e. what a loader of that architecture could load. */
function elfFilesOf(root: string, machine: number): string[] {
  return listFiles(root).filter((f) => elfMachine(path.join(root, f)) === machine);
}

describe.each(['sysext', 'bundle'] as const)('the %s install', (layout) => {
  it('runs on amd64 in a chroot with no glibc but its own', async () => {
    const { root, prefix } = await chrootWithAgent('amd64', layout);
    const libDir = `${prefix.slice(1)}/lib/kairos-spegel`;
    expect(
      elfFilesOf(root, EM_X86_64)
        .filter((f) => !f.startsWith(`${libDir}/`))
        .sort(),
    ).toEqual(['bin/busybox']);
    expect(elfFilesOf(root, EM_X86_64)).toContain(`${libDir}/libc.so.6`);
    // Started directly, the binary wants the system's loader (/lib64/ld-linux-x86-64.so.2): none here.
    expect((await run('chroot', [root, `/${libDir}/kairos-spegel`, '--version'], { env: ENV })).code).not.toBe(0);
    const r = await run('chroot', [root, `${prefix}/bin/kairos-spegel`, '--json', '--version'], { env: ENV });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ schema: 'kairos-spegel/version/v1', version: VERSION, node: expect.stringMatching(/^22\./), arch: 'x64' });
  });

  it('runs on arm64 (qemu-aarch64) in a chroot with no aarch64 library but its own', async () => {
    const { root, prefix } = await chrootWithAgent('arm64', layout);
    const libDir = `${prefix.slice(1)}/lib/kairos-spegel`;
    expect(elfFilesOf(root, EM_AARCH64).filter((f) => !f.startsWith(`${libDir}/`))).toEqual([]);
    expect(elfFilesOf(root, EM_AARCH64)).toContain(`${libDir}/libc.so.6`);

    // qemu-aarch64 and its x86-64 libraries, started through their own loader.
    mkdirSync(path.join(root, '.host'));
    const libs = [...(await must('ldd', ['/usr/bin/qemu-aarch64'])).matchAll(/(\/\S+) \(0x/g)].map((m) => m[1]!);
    for (const f of ['/usr/bin/qemu-aarch64', ...libs]) copyFileSync(f, path.join(root, '.host', path.basename(f)));
    const hostLoader = path.basename(libs.find((l) => l.includes('/ld-linux'))!);
    const qemu = [`/.host/${hostLoader}`, '--library-path', '/.host', '/.host/qemu-aarch64', '-L', '/'];

    // The launcher's command, as its `exec` line has it.
    const launcher = `${prefix}/bin/kairos-spegel`;
    const exec = /^exec (.+) "\$@"$/m
      .exec(readFileSync(path.join(root, launcher), 'utf8'))![1]!
      .split(' ')
      .map((a) => (a === '"$0"' ? launcher : a));
    const r = await run('chroot', [root, ...qemu, ...exec, '--json', '--version'], { env: ENV, timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ schema: 'kairos-spegel/version/v1', version: VERSION, node: expect.stringMatching(/^22\./), arch: 'arm64' });
  }, 120_000);
});
