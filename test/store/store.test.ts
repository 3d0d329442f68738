/**
 * The store is an OCI layout other tools read: skopeo inspects it and copies the same
 * image to byte-identical blobs; `images` lists it, `gc` keeps the newest, the lock keeps
 * runs apart, the free-space check refuses early, and transfer counts only go up.
 */
import { EXIT_LOCKED } from '../../src/errors.ts';
import type { ImagesResult } from '../../src/app/images.ts';
import type { StatusResult } from '../../src/app/status.ts';
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { AGENT, runAgent } from '../../testbed/agent.ts';
import { buildImage, pushImage } from '../../testbed/image.ts';
import { mirroredRegistry } from '../../testbed/mirrored-registry.ts';
import { requireRoot } from '../../testbed/netns.ts';
import { must, run, waitFor } from '../../testbed/proc.ts';
import { PullBed } from '../../testbed/pull-bed.ts';
import { tempDir } from '../../testbed/tmp.ts';

describe('the image store', () => {
  const dir = tempDir('ks-store-');
  const site = mirroredRegistry(dir);
  const bed = () => site.bed();
  const images: string[] = [];

  beforeAll(async () => {
    for (const tag of ['v1', 'v2', 'v3']) {
      const ref = `${site.registry.host}/kairos/store:${tag}`;
      await pushImage(undefined, await buildImage(`${dir}/img-${tag}`, 2, 300_000), ref);
      images.push(ref);
    }
  });
  let big: Promise<string> | undefined;
  /** An image of four 30 MB layers: long enough to unpack that a test can act in the middle. */
  const bigImage = () =>
    (big ??= (async () => {
      const ref = `${site.registry.host}/kairos/store-big:v1`;
      await pushImage(undefined, await buildImage(`${dir}/img-big`, 4, 30_000_000), ref);
      return ref;
    })());
  const unpackStarted = (b: PullBed) => {
    const staging = path.join(b.root, 'usr/local/kairos-spegel/staging');
    return waitFor('the unpack to start writing', () => (existsSync(staging) && readdirSync(staging).some((d) => /^[0-9a-f]{64}$/.test(d)) ? true : undefined), 60_000);
  };
  it('skopeo reads it, and its own copy of the image has byte-identical blobs', async () => {
    const b = bed();
    expect((await b.prepull([images[0]!])).code).toBe(0);
    const info = await b.skopeoInspect(images[0]!);
    const copy = `${dir}/skopeo-copy`;
    await must('skopeo', ['copy', '--src-tls-verify=false', `docker://${images[0]}`, `oci:${copy}:x`]);
    const theirs = readdirSync(`${copy}/blobs/sha256`).sort();
    const ours = readdirSync(`${b.store}/blobs/sha256`).sort();
    expect(ours).toEqual(theirs);
    for (const f of theirs) expect(readFileSync(`${b.store}/blobs/sha256/${f}`).equals(readFileSync(`${copy}/blobs/sha256/${f}`)), f).toBe(true);
    expect(info.Layers.every((l) => ours.includes(l.slice(7)))).toBe(true);
    await must('umoci', ['stat', '--image', `${b.store}:${images[0]}`]);
  });

  it('images lists what it holds; gc keeps the newest and frees the rest', async () => {
    const b = bed();
    for (const ref of images) expect((await b.prepull([ref])).code).toBe(0);
    const listed = JSON.parse((await runAgent(['--root', b.root, '--json', 'images'])).stdout) as ImagesResult;
    expect(listed.images.map((i) => i.image)).toEqual([...images].reverse());
    expect(listed.images.every((i) => i.bytes.from_peers >= i.size)).toBe(true);
    const before = readdirSync(`${b.store}/blobs/sha256`).length;
    const gc = await runAgent(['--root', b.root, '--json', 'gc', '--keep', '1']);
    expect(gc.code, gc.stderr).toBe(0);
    expect(JSON.parse(gc.stdout)).toMatchObject({ kept: [images[2]], removed: [images[1], images[0]], blobs_deleted: 8 }); // manifest, config and two layers each
    expect(readdirSync(`${b.store}/blobs/sha256`).length).toBe(before - 8);
    expect((await b.skopeoInspect(images[2]!)).Layers).toHaveLength(2);
    b.verifyBlobs();
    // Counts only go up: gc keeps the totals, and a new pull adds to them.
    const after = JSON.parse((await runAgent(['--root', b.root, '--json', 'images'])).stdout) as ImagesResult;
    expect(after.bytes.from_peers).toBe(listed.bytes.from_peers);
    expect((await b.prepull([images[0]!])).code).toBe(0);
    const again = JSON.parse((await runAgent(['--root', b.root, '--json', 'images'])).stdout) as ImagesResult;
    expect(again.bytes.from_peers).toBeGreaterThan(after.bytes.from_peers);
  });

  it('gc --dry-run says what gc would delete and deletes nothing; gc removes the staged rootfs of every image it drops', async () => {
    const b = bed();
    for (const ref of images) expect((await b.prepull(['--unpack', ref])).code).toBe(0);
    const staging = path.join(b.root, 'usr/local/kairos-spegel/staging');
    const stagings = () =>
      readdirSync(staging)
        .filter((d) => /^[0-9a-f]{64}$/.test(d))
        .sort();
    expect(stagings()).toHaveLength(3);
    const blobs = readdirSync(`${b.store}/blobs/sha256`).sort();
    const dry = await runAgent(['--root', b.root, '--json', 'gc', '--keep', '1', '--dry-run']);
    expect(dry.code, dry.stderr).toBe(0);
    expect(JSON.parse(dry.stdout)).toMatchObject({ dry_run: true, kept: [images[2]], removed: [images[1], images[0]], blobs_deleted: 8, stagings_removed: expect.any(Array) });
    expect(JSON.parse(dry.stdout).stagings_removed).toHaveLength(2);
    expect(readdirSync(`${b.store}/blobs/sha256`).sort()).toEqual(blobs);
    expect(stagings()).toHaveLength(3);

    const gc = await runAgent(['--root', b.root, '--json', 'gc', '--keep', '1']);
    expect(gc.code, gc.stderr).toBe(0);
    expect(stagings()).toHaveLength(1);
    const status = JSON.parse((await runAgent(['--root', b.root, '--json', 'status'])).stdout) as StatusResult;
    expect(status.images).toEqual([expect.objectContaining({ image: images[2], staged: expect.objectContaining({ rootfs: expect.stringContaining(stagings()[0]!) }) })]);
  });

  it('gc is refused while an unpack runs (it reads the blobs gc would delete)', async () => {
    const b = bed();
    const big = await bigImage();
    expect((await b.prepull([big])).code).toBe(0);
    const unpack = spawn(AGENT, ['--root', b.root, '--log-level', 'silent', 'prepull', '--unpack', big], { stdio: 'ignore' });
    const exited = new Promise((r) => unpack.on('exit', r));
    try {
      await unpackStarted(b);
      unpack.kill('SIGSTOP'); // frozen while it holds its locks
      const gc = await runAgent(['--root', b.root, '--json', 'gc', '--keep', '0']);
      expect(gc.code).toBe(EXIT_LOCKED);
      expect(JSON.parse(gc.stdout).error).toMatchObject({ code: 'E_LOCKED', message: expect.stringMatching(/the image store .* is in use: kairos-spegel pid \d+/) });
    } finally {
      unpack.kill('SIGCONT');
    }
    await exited;
    expect(unpack.exitCode).toBe(0);
  });

  it('a layer blob removed under a running unpack: E_SYSTEM naming the file, no stack trace, no partial staging; the next prepull fetches it again', async () => {
    const b = bed();
    const big = await bigImage();
    expect((await b.prepull([big])).code).toBe(0);
    const unpack = spawn(AGENT, ['--root', b.root, '--json', '--log-level', 'silent', 'prepull', '--unpack', big], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    unpack.stdout.on('data', (d: Buffer) => (out += d.toString()));
    unpack.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((r) => unpack.on('exit', r));
    const blobs = path.join(b.store, 'blobs/sha256');
    // The layers are the 30 MB blobs; the one being read stays readable through its open descriptor.
    const layers = readdirSync(blobs).filter((f) => statSync(path.join(blobs, f)).size >= 30_000_000);
    expect(layers).toHaveLength(4);
    try {
      await unpackStarted(b);
      unpack.kill('SIGSTOP');
      for (const l of layers) unlinkSync(path.join(blobs, l));
    } finally {
      unpack.kill('SIGCONT');
    }
    expect(await exited, out).toBe(1);
    expect(out).not.toMatch(/internal error|\n\s+at /);
    const error = (JSON.parse(out) as { error: { code: string; message: string } }).error;
    expect(error).toMatchObject({ code: 'E_SYSTEM', message: expect.stringMatching(new RegExp(`ENOENT.*blobs/sha256/(${layers.join('|')})`)) });
    expect(readdirSync(path.join(b.root, 'usr/local/kairos-spegel/staging')).filter((d) => /^[0-9a-f]{64}$/.test(d))).toEqual([]);
    site.mirror.requests.length = 0;
    const again = await b.prepull(['--unpack', big]);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(site.mirror.requests.filter((q) => q.url.includes('/blobs/')).length).toBeGreaterThanOrEqual(3);
  });

  it('a second run on the same store is refused while the first holds it; a dead holder is taken over', async () => {
    const b = bed();
    let paused!: () => void;
    const isPaused = new Promise<void>((r) => (paused = r));
    site.mirror.setRule((q) => (q.url.includes('/blobs/') ? { kind: 'pause', afterBytes: 1000, onPause: paused } : undefined));
    const first = spawn(AGENT, ['--root', b.root, '--log-level', 'silent', 'prepull', images[1]!], { stdio: 'ignore' });
    try {
      await isPaused;
      const second = await b.prepull([images[1]!]);
      expect(second.code).toBe(EXIT_LOCKED);
      expect(second.error).toMatchObject({ code: 'E_LOCKED', message: expect.stringMatching(/is in use: kairos-spegel pid \d+ since /) });
    } finally {
      first.kill('SIGKILL');
      site.mirror.setRule(undefined);
    }
    await new Promise((r) => first.on('exit', r));
    const third = await b.prepull([images[1]!]);
    expect(third.code, third.stderr).toBe(0);
  });

  it('a prepull killed inside a pid namespace (as in a NodeOp pod) leaves nothing that blocks the next run', async () => {
    const b = bed();
    let paused!: () => void;
    const isPaused = new Promise<void>((r) => (paused = r));
    site.mirror.setRule((q) => (q.url.includes('/blobs/') ? { kind: 'pause', afterBytes: 1000, onPause: paused } : undefined));
    // The agent is pid 1 of its namespace, as a container's main process is.
    const first = spawn('unshare', ['--pid', '--fork', '--kill-child', AGENT, '--root', b.root, '--log-level', 'silent', 'prepull', images[2]!], { stdio: 'ignore' });
    try {
      await isPaused;
      first.kill('SIGKILL'); // unshare --kill-child takes its child (the agent) with it
      await new Promise((r) => first.on('exit', r));
      await waitFor('the agent in the pid namespace to be gone', async () => ((await run('pgrep', ['-f', '--', `--root ${b.root} `])).code === 1 ? true : undefined));
    } finally {
      site.mirror.setRule(undefined);
    }
    const next = await b.prepull([images[2]!]);
    expect(next.code, next.stdout + next.stderr).toBe(0);
  });

  it('refuses to start when the filesystem is too small, before downloading anything', async () => {
    requireRoot('mounting a small tmpfs for the store');
    const b = bed();
    const store = b.store;
    mkdirSync(store, { recursive: true });
    await must('mount', ['-t', 'tmpfs', '-o', 'size=300k', 'tmpfs', store]);
    try {
      site.mirror.requests.length = 0;
      const r = await b.prepull([images[0]!]);
      expect(r.code).toBe(1);
      expect(r.error).toMatchObject({
        code: 'E_NO_SPACE',
        message: expect.stringMatching(new RegExp(`not enough free space in ${store}: the image needs [\\d.]+ KiB more, plus a margin of 256 MiB`)),
      });
      expect(site.mirror.requests.filter((q) => q.url.includes('/blobs/'))).toEqual([]);
    } finally {
      await run('umount', [store]);
    }
  });

  it('survives a damaged stats file, and names a damaged index.json', async () => {
    const b = bed();
    expect((await b.prepull([images[0]!])).code).toBe(0);
    writeFileSync(path.join(b.store, 'stats.json'), '{not json');
    expect((await b.prepull([images[1]!])).code).toBe(0);
    writeFileSync(path.join(b.store, 'index.json'), '[]');
    const r = await runAgent(['--root', b.root, 'images']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`${b.store}/index.json is damaged`);
  });
});
