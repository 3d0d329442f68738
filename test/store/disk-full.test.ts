/**
 * A full disk while unpacking: the staging area is a 1 MiB tmpfs (in a private mount
 * namespace), the image 4 MB of incompressible layers. The agent says the filesystem is full
 * and what to do, prints no stack trace, and leaves no partial staging.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT } from '../helpers/agent.ts';
import { buildImage, pushImage } from '../helpers/image.ts';
import { startLoopbackRegistry, type LoopbackRegistry } from '../helpers/loopback-registry.ts';
import { requireRoot } from '../helpers/netns.ts';
import { run } from '../helpers/proc.ts';
import { PullBed } from '../helpers/pull-bed.ts';
import { tempDir } from '../helpers/tmp.ts';

describe('a full disk', () => {
  const dir = tempDir('ks-full-');
  let registry: LoopbackRegistry;
  let image: string;

  beforeAll(async () => {
    requireRoot('the staging area is a small tmpfs in a private mount namespace');
    registry = await startLoopbackRegistry(dir, 'reg');
    image = `${registry.host}/kairos/full:v1`;
    await pushImage(undefined, await buildImage(path.join(dir, 'img'), 2, 2_000_000), image);
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
    const script = 'set -e; mkdir -p "$STAGING"; mount -t tmpfs -o size=1m tmpfs "$STAGING"; rc=0; "$AGENT" --root "$ROOT" --json prepull --unpack "$IMAGE" || rc=$?; echo "exit $rc" >&2; echo "left:$(ls -A "$STAGING" | tr "\\n" " ")" >&2';
    const r = await run('unshare', ['--mount', '--propagation', 'private', 'sh', '-c', script], {
      env: { ...process.env, STAGING: staging, AGENT, ROOT: b.root, IMAGE: image },
    });
    expect(r.stderr).toMatch(/^exit 1$/m);
    const error = (JSON.parse(r.stdout) as { error: { code: string; message: string; hint: string } }).error;
    expect(error).toMatchObject({ code: 'E_SYSTEM', message: expect.stringMatching(/ENOSPC: no space left on device/), hint: expect.stringMatching(/the filesystem is full/) });
    expect(r.stdout + r.stderr).not.toMatch(/internal error|\n\s+at /);
    expect(r.stderr, 'no partial staging left, only the lock file').toMatch(/^left:(lock )?$/m);
  });
});
