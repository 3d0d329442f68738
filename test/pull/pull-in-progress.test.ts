/**
 * A pull under way, as `status` and `images` show it, with resumed bytes counted as done:
 * a first run is killed with a partial layer on disk; the second resumes it and is held
 * mid-layer; its progress file (written by the lock holder) must count the other blobs and
 * the partial file as done from the start, and this run's bytes by source. The file goes
 * with the pull; a holder killed with -9 leaves one that nothing shows.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ImagesResult } from '../../src/app/images.ts';
import type { StatusResult } from '../../src/app/status.ts';
import { agentBuilt, runAgent } from '../../testbed/agent.ts';
import { startProxiedImage, type ProxiedImage } from '../../testbed/proxied-image.ts';
import { waitFor } from '../../testbed/proc.ts';
import { PullBed } from '../../testbed/pull-bed.ts';
import { tempDir } from '../../testbed/tmp.ts';

const MiB = 1024 * 1024;

interface Blob {
  digest: string;
  size: number;
}

describe('a pull in progress', () => {
  const dir = tempDir('ks-in-progress-');
  let src: ProxiedImage;
  let manifest: { config: Blob; layers: Blob[] };

  beforeAll(async () => {
    src = await startProxiedImage(dir, 'kairos/inprogress:v1', 2, 4 * MiB);
    const res = await fetch(`${src.registry.url}/v2/kairos/inprogress/manifests/v1`, {
      headers: { accept: 'application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json' },
    });
    manifest = (await res.json()) as typeof manifest;
  }, 120_000);
  afterAll(() => src?.stop());

  const status = async (b: PullBed) => JSON.parse((await runAgent(['--root', b.root, '--json', 'status'])).stdout) as StatusResult;
  const images = async (b: PullBed) => JSON.parse((await runAgent(['--root', b.root, '--json', 'images'])).stdout) as ImagesResult;

  /** Starts a prepull whose layer `held` stops after `afterBytes` of the mirror's answer; resolves once it has. */
  async function heldPull(b: PullBed, held: Blob, afterBytes: number): Promise<ChildProcess> {
    let paused!: () => void;
    const pausedAt = new Promise<void>((resolve) => (paused = resolve));
    src.mirror.setRule((q) => (q.url.includes(held.digest) ? { kind: 'pause', afterBytes, onPause: paused } : undefined));
    const child = spawn(agentBuilt(), ['--root', b.root, '--log-level', 'silent', 'prepull', src.image, '--upstream', 'never'], { stdio: 'ignore' });
    await pausedAt;
    return child;
  }
  const exit = (c: ChildProcess, sig: NodeJS.Signals) => {
    const done = new Promise((resolve) => c.on('exit', resolve));
    c.kill(sig);
    return done;
  };

  it('shows the pull with resumed bytes as done, and nothing once it ends', async () => {
    const b = new PullBed(`${dir}/bed`);
    b.hosts(src.registry.host, [src.mirror.url], src.upstream.url);
    b.config('  pull:\n    resolve_tags_via_mirror: true\n'); // with --upstream never: every byte from the peers
    const [held, other] = manifest.layers as [Blob, Blob];
    const partial = path.join(b.store, 'ingest', `${held.digest.slice(7)}.partial`);

    // Run 1: 2 MiB of one layer, the rest of the image whole; then kill -9.
    const first = await heldPull(b, held, 2 * MiB);
    await waitFor(
      'the partial layer and the other blobs on disk',
      () => existsSync(partial) && statSync(partial).size === 2 * MiB && [other, manifest.config].every((x) => existsSync(path.join(b.store, 'blobs/sha256', x.digest.slice(7)))),
    );
    await exit(first, 'SIGKILL');
    // A dead holder's progress file shows nothing.
    expect(existsSync(path.join(b.store, 'pulling.json'))).toBe(true);
    expect((await status(b)).in_progress).toBeNull();

    // Run 2 resumes at 2 MiB and is held 1 MiB later.
    const second = await heldPull(b, held, MiB);
    const total = manifest.config.size + other.size + held.size;
    const expectedDone = manifest.config.size + other.size + 3 * MiB;
    const shown = await waitFor('status showing the held pull', async () => {
      const p = (await status(b)).in_progress;
      return p?.done === expectedDone ? p : undefined;
    });
    expect(shown).toMatchObject({ image: src.image, total, pid: second.pid, digest: expect.stringMatching(/^sha256:/) as unknown });
    // This run's bytes: the MiB of the layer (and the manifest), all from the peers.
    expect(shown.bytes.from_peers).toBeGreaterThanOrEqual(MiB);
    expect(shown.bytes.from_peers).toBeLessThan(2 * MiB);
    expect(shown.bytes.from_upstream).toBe(0);
    expect((await images(b)).in_progress).toMatchObject({ image: src.image, pid: second.pid });
    const human = (await runAgent(['--root', b.root, 'status'])).stdout;
    expect(human).toContain(`pulling ${src.image}: ${Math.floor((expectedDone / total) * 100)}%`);

    await exit(second, 'SIGTERM');
    expect(existsSync(path.join(b.store, 'pulling.json'))).toBe(false);
    expect((await status(b)).in_progress).toBeNull();
    expect((await images(b)).in_progress).toBeNull();
  }, 120_000);
});
