/**
 * What the agent creates does not depend on the umask it inherits: under `umask 000` (a
 * careless unit or shell) the store, its ingest area and the staged rootfs would be
 * world-writable, and another user could swap the rootfs that root then hands to
 * kairos-agent. Every directory the agent makes is 0755 or narrower. And the commands that
 * only read (status, images) make nothing at all.
 */
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT } from '../../testbed/agent.ts';
import { buildImage, pushImage } from '../../testbed/image.ts';
import { startLoopbackRegistry, type LoopbackRegistry } from '../../testbed/loopback-registry.ts';
import { PullBed } from '../../testbed/pull-bed.ts';
import { run } from '../../testbed/proc.ts';
import { tempDir } from '../../testbed/tmp.ts';

/** Directories under `dir` that others may write to. */
function writableByOthers(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    const mode = statSync(d).mode;
    if (mode & 0o022) out.push(`${d} ${(mode & 0o7777).toString(8)}`);
    // Inside a rootfs, modes are the image's (its /tmp is 1777 on purpose).
    if (path.basename(d) === 'rootfs') return;
    for (const e of readdirSync(d, { withFileTypes: true })) if (e.isDirectory()) walk(path.join(d, e.name));
  };
  walk(dir);
  return out;
}

describe('under umask 000', () => {
  const dir = tempDir('ks-umask-');
  let registry: LoopbackRegistry;
  let image: string;

  beforeAll(async () => {
    registry = await startLoopbackRegistry(dir, 'reg');
    image = `${registry.host}/os:v1`;
    await pushImage(undefined, await buildImage(path.join(dir, 'image'), 2, 50_000), image);
  }, 120_000);
  afterAll(async () => {
    await registry?.stop();
  });

  it('prepull --unpack makes no directory that others can write to', async () => {
    const bed = new PullBed(path.join(dir, 'bed'));
    bed.hosts(registry.host, []);
    const r = await run('sh', ['-c', `umask 000; exec "$0" "$@"`, AGENT, '--root', bed.root, '--json', 'prepull', '--unpack', image]);
    expect(r.code, r.stderr).toBe(0);
    const staged = (JSON.parse(r.stdout) as { staged: string }).staged;
    expect(staged).toMatch(/rootfs$/);
    expect(writableByOthers(path.join(bed.root, 'usr/local/kairos-spegel'))).toEqual([]);
  });
});

describe('status and images on a node that never pulled', () => {
  it('read only: they report no images and create nothing', async () => {
    const root = tempDir('ks-fresh-');
    for (const cmd of ['status', 'images']) {
      const r = await run(AGENT, ['--root', root, '--json', cmd]);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout)).toMatchObject({ images: [] });
    }
    expect(readdirSync(root)).toEqual([]);
  });
});
