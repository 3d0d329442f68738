/**
 * The Kairos bundle. scripts/push-bundle.sh pushes it to a real registry (docker-registry in
 * a test node's network namespace) as one OCI index of an amd64 and an arm64 image, with the
 * digests npm run package made, and `skopeo copy --all` pulls it back whole. Its run.sh, run
 * as kairos-agent runs it on what was pulled, against a fake root with everything else
 * read-only, installs the agent and the stage file (with busybox alone, too), says what it
 * did, changes nothing when run again, and replaces a file that differs by renaming a
 * complete copy over it.
 */
import { createHash } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createNode, type TestNode } from '../../testbed/netns.ts';
import { bundleLayout, extractBundle, ociImages, runBundle, runWritableOnly, VERSION } from '../../testbed/package.ts';
import { must } from '../../testbed/proc.ts';
import { startRegistry, type Registry } from '../../testbed/registry.ts';
import { listFiles } from '../../testbed/files.ts';
import { tempDir } from '../../testbed/tmp.ts';

const ROOT = path.resolve(import.meta.dirname, '../..');
const STAGE_FILE = readFileSync(path.join(ROOT, 'stages/kairos-spegel.yaml'), 'utf8');
const INSTALLED = [
  'usr/local/bin/kairos-spegel',
  'usr/local/cloud-config/kairos-spegel.yaml',
  ...['kairos-spegel', 'ld-linux-x86-64.so.2', 'libc.so.6', 'libdl.so.2', 'libgcc_s.so.1', 'libm.so.6', 'libpthread.so.0', 'libstdc++.so.6'].map((f) => `usr/local/lib/kairos-spegel/${f}`),
];

let node: TestNode;
let registry: Registry;
let ref: string;
let pulled: string;
const dir = tempDir();

/** What a write would change: inode, times, mode, size, per file. */
function snapshot(root: string): Record<string, string> {
  return Object.fromEntries(
    listFiles(root).map((f) => {
      const s = statSync(path.join(root, f));
      return [f, `${s.ino} ${s.mtimeMs} ${s.ctimeMs} ${s.mode.toString(8)} ${s.size}`];
    }),
  );
}

beforeAll(async () => {
  node = await createNode();
  registry = await startRegistry(node, dir, { host: node.ip, port: 5000 });
  ref = `${node.ip}:5000/kairos/kairos-spegel-bundle:${VERSION}`;
  const [cmd, args] = node.exec('sh', [path.join(ROOT, 'scripts/push-bundle.sh'), ref, '--dest-tls-verify=false']);
  await must(cmd, args, { timeoutMs: 180_000 });
  pulled = path.join(dir, 'pulled');
  const [c2, a2] = node.exec('skopeo', ['copy', '--all', '--src-tls-verify=false', `docker://${ref}`, `oci:${pulled}:pulled`]);
  await must(c2, a2, { timeoutMs: 180_000 });
}, 300_000);

afterAll(async () => {
  await registry?.stop();
  await node?.destroy();
});

describe('the bundle in a registry', () => {
  it('is an OCI image index of a linux/amd64 and a linux/arm64/v8 image, with the digests npm run package made', async () => {
    const [cmd, args] = node.exec('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${ref}`]);
    const raw = await must(cmd, args);
    const index = JSON.parse(raw) as { mediaType: string; manifests: { digest: string; platform: unknown }[] };
    expect(index.mediaType).toBe('application/vnd.oci.image.index.v1+json');
    expect(index.manifests.map((m) => m.platform)).toEqual([
      { architecture: 'amd64', os: 'linux' },
      { architecture: 'arm64', os: 'linux', variant: 'v8' },
    ]);
    const local = ociImages(bundleLayout());
    expect(`sha256:${createHash('sha256').update(raw).digest('hex')}`).toBe(local.index);
    expect(index.manifests.map((m) => m.digest)).toEqual([...local.images.values()].map((i) => i.manifest));
  });

  it('comes back whole with skopeo copy --all: both images, the same layers', () => {
    const back = ociImages(pulled);
    const local = ociImages(bundleLayout());
    expect([...back.images.keys()]).toEqual(['amd64', 'arm64']);
    for (const arch of ['amd64', 'arm64']) expect(back.images.get(arch)!.layer).toBe(local.images.get(arch)!.layer);
    expect(registry.requests().some((r) => r.startsWith(`GET /v2/kairos/kairos-spegel-bundle/manifests/${VERSION}`))).toBe(true);
  });
});

describe("the pulled amd64 image's run.sh", () => {
  const extracted = path.join(dir, 'extracted');
  const fakeRoot = path.join(dir, 'root');

  it('installs the agent under /usr/local and the stage file in /usr/local/cloud-config, and says so', async () => {
    await extractBundle(pulled, 'amd64', extracted);
    expect(listFiles(extracted)).toEqual(['files.txt', ...INSTALLED.map((f) => `payload/${f}`), 'run.sh'].sort());
    const r = await runBundle(extracted, fakeRoot, ref);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`kairos-spegel ${VERSION} (amd64) from ${ref}, installing under ${fakeRoot}`);
    for (const f of INSTALLED) expect(r.stdout).toContain(`installed /${f}\n`);
    expect(r.stdout).toContain(`${INSTALLED.length} file(s) installed or updated`);

    expect(listFiles(fakeRoot)).toEqual(INSTALLED.sort());
    for (const f of INSTALLED) expect(readFileSync(path.join(fakeRoot, f)).equals(readFileSync(path.join(extracted, 'payload', f)))).toBe(true);
    expect(readFileSync(path.join(fakeRoot, 'usr/local/cloud-config/kairos-spegel.yaml'), 'utf8')).toBe(STAGE_FILE);
    expect(statSync(path.join(fakeRoot, 'usr/local/bin/kairos-spegel')).mode & 0o777).toBe(0o755);
    expect(statSync(path.join(fakeRoot, 'usr/local/cloud-config/kairos-spegel.yaml')).mode & 0o777).toBe(0o644);
    expect(readFileSync(path.join(fakeRoot, 'usr/local/bin/kairos-spegel'), 'utf8')).toMatch(
      /^exec \/usr\/local\/lib\/kairos-spegel\/ld-linux-x86-64\.so\.2 .*--library-path \/usr\/local\/lib\/kairos-spegel .*\/usr\/local\/lib\/kairos-spegel\/kairos-spegel "\$@"$/m,
    );
  });

  it('changes nothing when run again', async () => {
    const before = snapshot(fakeRoot);
    const r = await runBundle(extracted, fakeRoot, ref);
    expect(r.code, r.stderr).toBe(0);
    for (const f of INSTALLED) expect(r.stdout).toContain(`unchanged /${f}\n`);
    expect(r.stdout).toContain('0 file(s) installed or updated');
    expect(snapshot(fakeRoot)).toEqual(before);
  });

  it('replaces a file whose content or mode differs by renaming a new copy over it, and only that file', async () => {
    const stage = path.join(fakeRoot, 'usr/local/cloud-config/kairos-spegel.yaml');
    const launcher = path.join(fakeRoot, 'usr/local/bin/kairos-spegel');
    writeFileSync(stage, '# an older stage file\n');
    chmodSync(launcher, 0o700);
    const before = snapshot(fakeRoot);
    const r = await runBundle(extracted, fakeRoot, ref);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('updated /usr/local/cloud-config/kairos-spegel.yaml\n');
    expect(r.stdout).toContain('updated /usr/local/bin/kairos-spegel\n');
    expect(r.stdout).toContain('2 file(s) installed or updated');
    expect(readFileSync(stage, 'utf8')).toBe(STAGE_FILE);
    expect(statSync(launcher).mode & 0o777).toBe(0o755);
    const after = snapshot(fakeRoot);
    for (const f of ['usr/local/cloud-config/kairos-spegel.yaml', 'usr/local/bin/kairos-spegel']) expect(after[f]!.split(' ')[0]).not.toBe(before[f]!.split(' ')[0]);
    const untouched = INSTALLED.filter((f) => !f.endsWith('kairos-spegel.yaml') && f !== 'usr/local/bin/kairos-spegel');
    for (const f of untouched) expect(after[f]).toBe(before[f]);
    expect(listFiles(fakeRoot)).toEqual(INSTALLED.sort()); // no temp file left behind
  });

  it('runs on a busybox system (Alpine, Hadron): busybox sh and applets only', async () => {
    const bin = path.join(dir, 'busybox-bin');
    mkdirSync(bin);
    await must('/bin/busybox', ['--install', '-s', bin]);
    const root = path.join(dir, 'busybox-root');
    mkdirSync(root);
    const script = 'cd "$CONTAINERDIR" && exec env -i PATH="$BB" CONTAINERDIR="$CONTAINERDIR" KAIROS_SPEGEL_ROOT="$WRITABLE" "$BB/sh" -c ./run.sh';
    const r = await runWritableOnly(root, script, { CONTAINERDIR: extracted, BB: bin });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`${INSTALLED.length} file(s) installed or updated`);
    expect(listFiles(root)).toEqual(INSTALLED.sort());
  });

  it('runs where only its root is writable (the guard of the tests above, shown to work)', async () => {
    const r = await runWritableOnly(fakeRoot, 'touch "$WRITABLE/.probe" && rm "$WRITABLE/.probe" && touch "$OUTSIDE"', { OUTSIDE: path.join(dir, 'outside') });
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain('Read-only file system');
    expect(listFiles(dir).includes('outside')).toBe(false);
  });
});
