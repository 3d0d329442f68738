/**
 * A store that repairs itself: a bit flipped in a stored layer is reported by `images
 * --verify` and fetched again by `prepull --verify` (a plain prepull checks sizes only, and
 * says so by finding it present), and garbage in the partial download an earlier run left
 * is thrown away without blaming the source that now sends the blob.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readSync, statSync, writeSync } from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { AGENT, runAgent } from '../../testbed/agent.ts';
import { buildImage, pushImage } from '../../testbed/image.ts';
import { mirroredRegistry } from '../../testbed/mirrored-registry.ts';
import { waitFor } from '../../testbed/proc.ts';
import { PullBed } from '../../testbed/pull-bed.ts';
import { tempDir } from '../../testbed/tmp.ts';

/** Flips one bit in the middle of `file`; its size stays. */
function flipBit(file: string): void {
  const fd = openSync(file, 'r+');
  const at = Math.floor(statSync(file).size / 2);
  const b = Buffer.alloc(1);
  readSync(fd, b, 0, 1, at);
  b[0] = b[0]! ^ 0x10;
  writeSync(fd, b, 0, 1, at);
  closeSync(fd);
}

describe('a store that repairs itself', () => {
  const dir = tempDir('ks-heal-');
  const site = mirroredRegistry(dir);
  const bed = () => site.bed();
  let image: string;
  const largestBlob = (b: PullBed) => {
    const blobs = path.join(b.store, 'blobs/sha256');
    return readdirSync(blobs)
      .map((f) => path.join(blobs, f))
      .sort((x, y) => statSync(y).size - statSync(x).size)[0]!;
  };

  beforeAll(async () => {
    image = `${site.registry.host}/kairos/heal:v1`;
    await pushImage(undefined, await buildImage(`${dir}/img`, 2, 2_000_000), image);
  });

  it('a bit flip in a stored layer: images --verify reports it, prepull --verify fetches that blob again', async () => {
    const b = bed();
    expect((await b.prepull([image])).code).toBe(0);
    const layer = largestBlob(b);
    flipBit(layer);

    const check = await runAgent(['--root', b.root, '--json', 'images', '--verify']);
    expect(check.code).toBe(1);
    expect(JSON.parse(check.stdout).images).toEqual([expect.objectContaining({ image, damaged: [`sha256:${path.basename(layer)}`] })]);

    const cheap = await b.prepull([image]);
    expect(cheap.json!.blobs).toMatchObject({ downloaded: 0 }); // sizes match: a plain run cannot see it

    const verified = await b.prepull([image, '--verify']);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stderr).toMatch(/damaged in the store: its bytes do not hash to its digest; fetching it again/);
    expect(verified.json!.blobs).toMatchObject({ downloaded: 1 });
    b.verifyBlobs();
    expect((await runAgent(['--root', b.root, 'images', '--verify'])).code).toBe(0);
  });

  it("garbage in an earlier run's partial download: thrown away, the blob downloaded again, the source not blamed", async () => {
    const b = bed();
    let paused!: () => void;
    const isPaused = new Promise<void>((r) => (paused = r));
    site.mirror.setRule((q) => (q.url.includes('/blobs/') ? { kind: 'pause', afterBytes: 500_000, onPause: paused } : undefined));
    const first = spawn(AGENT, ['--root', b.root, '--log-level', 'silent', 'prepull', image], { stdio: 'ignore' });
    const ingest = path.join(b.store, 'ingest');
    const written = () => (existsSync(ingest) ? readdirSync(ingest).filter((f) => statSync(path.join(ingest, f)).size > 0) : []);
    try {
      await isPaused;
      // The proxy has sent its bytes; killed once the agent has written some of them.
      await waitFor('part of a blob in the partial download', () => (written().length > 0 ? true : undefined), 30_000);
      first.kill('SIGKILL');
      await new Promise((r) => first.on('exit', r));
    } finally {
      site.mirror.setRule(undefined);
    }
    const partials = readdirSync(ingest).filter((f) => statSync(path.join(ingest, f)).size > 0);
    expect(partials.length).toBeGreaterThan(0);
    for (const p of partials) flipBit(path.join(ingest, p));

    const r = await b.prepull([image]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/the partial download an earlier run left does not match the digest; downloading it again from the start/);
    expect(r.stderr).not.toMatch(/dropping (mirror|upstream)/);
    b.verifyBlobs();
  });
});
