/**
 * A full disk, on small tmpfs mounts in a private mount namespace: while unpacking (the
 * staging area is 1 MiB, the image 4 MB of incompressible layers), and while writing the
 * store's index.json (every blob is there, the filesystem is filled up, a second tag of the
 * same image is pulled). The agent says the filesystem is full and what to do, prints no
 * stack trace, leaves no partial staging, and keeps the index it had.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT } from '../../testbed/agent.ts';
import { buildImage, pushImage } from '../../testbed/image.ts';
import { startLoopbackRegistry, type LoopbackRegistry } from '../../testbed/loopback-registry.ts';
import { requireRoot } from '../../testbed/netns.ts';
import { run } from '../../testbed/proc.ts';
import { PullBed } from '../../testbed/pull-bed.ts';
import { tempDir } from '../../testbed/tmp.ts';

describe('a full disk', () => {
  const dir = tempDir('ks-full-');
  let registry: LoopbackRegistry;
  let image: string;
  let sameImage: string;

  beforeAll(async () => {
    requireRoot('the staging area is a small tmpfs in a private mount namespace');
    registry = await startLoopbackRegistry(dir, 'reg');
    image = `${registry.host}/kairos/full:v1`;
    sameImage = `${registry.host}/kairos/full:v1-again`;
    const built = await buildImage(path.join(dir, 'img'), 2, 2_000_000);
    await pushImage(undefined, built, image);
    await pushImage(undefined, built, sameImage);
  }, 120_000);
  afterAll(async () => {
    await registry?.stop();
  });

  it('while unpacking: E_SYSTEM "no space left on device" with a hint, no stack trace, no partial staging', async () => {
    const b = new PullBed(path.join(dir, 'bed'));
    b.hosts(registry.host, []);
    expect((await b.prepull([image])).code).toBe(0);
    const staging = path.join(b.root, 'usr/local/kairos-spegel/staging');
    // The staging tmpfs lives as long as the namespace: what is left there is listed inside it.
    const script =
      'set -e; mkdir -p "$STAGING"; mount -t tmpfs -o size=1m tmpfs "$STAGING"; rc=0; "$AGENT" --root "$ROOT" --json prepull --unpack "$IMAGE" || rc=$?; echo "exit $rc" >&2; echo "left:$(ls -A "$STAGING" | tr "\\n" " ")" >&2';
    const r = await run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], {
      env: { ...process.env, STAGING: staging, AGENT, ROOT: b.root, IMAGE: image },
    });
    expect(r.stderr).toMatch(/^exit 1$/m);
    const error = (JSON.parse(r.stdout) as { error: { code: string; message: string; hint: string } }).error;
    expect(error).toMatchObject({ code: 'E_SYSTEM', message: expect.stringMatching(/ENOSPC: no space left on device/), hint: expect.stringMatching(/the filesystem is full/) });
    expect(r.stdout + r.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(r.stderr, 'no partial staging left, only the lock file').toMatch(/^left:(lock )?$/m);
  });

  it('while writing index.json: E_SYSTEM with a hint, no stack trace, the index as it was, and the next run (with space) completes', async () => {
    const b = new PullBed(path.join(dir, 'bed-index'));
    b.hosts(registry.host, []);
    b.config('  store:\n    free_space_margin: 0\n');
    const out = path.join(dir, 'index-out');
    // The store's tmpfs lives as long as the namespace: every step runs inside it.
    const script = [
      'set -e',
      'mkdir -p "$STORE" "$OUT"',
      'mount -t tmpfs -o size=8m tmpfs "$STORE"',
      '"$AGENT" --root "$ROOT" --json prepull "$IMAGE" > "$OUT/first.json"',
      'dd if=/dev/zero of="$STORE/filler" bs=4k 2>/dev/null || true',
      'rc=0; "$AGENT" --root "$ROOT" --json prepull "$SAME" > "$OUT/full.json" 2> "$OUT/full.err" || rc=$?; echo $rc > "$OUT/full.rc"',
      '"$AGENT" --root "$ROOT" --json images > "$OUT/images-full.json"',
      'rm "$STORE/filler"',
      '"$AGENT" --root "$ROOT" --json prepull "$SAME" > "$OUT/again.json"',
      '"$AGENT" --root "$ROOT" --json images > "$OUT/images-again.json"',
    ].join('\n');
    const r = await run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], {
      env: { ...process.env, STORE: b.store, OUT: out, AGENT, ROOT: b.root, IMAGE: image, SAME: sameImage },
    });
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const read = (f: string) => readFileSync(path.join(out, f), 'utf8');
    expect(read('full.rc').trim()).toBe('1');
    const error = (JSON.parse(read('full.json')) as { error: { code: string; message: string; hint: string } }).error;
    expect(error).toMatchObject({ code: 'E_SYSTEM', message: expect.stringMatching(/ENOSPC: no space left on device/), hint: expect.stringMatching(/the filesystem is full/) });
    expect(read('full.json') + read('full.err')).not.toMatch(/internal error|\n\s+at /);
    const refs = (f: string) => (JSON.parse(read(f)) as { images: { image: string }[] }).images.map((i) => i.image).sort();
    expect(refs('images-full.json')).toEqual([image]);
    expect(refs('images-again.json')).toEqual([image, sameImage].sort());
  });
});
