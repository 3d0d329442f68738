/**
 * kill -9 half way through a 200 MB blob: the next run resumes from the partial file
 * (re-hashing it) and transfers at most 55% of the blob, counted at the proxy that
 * serves it.
 */
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AGENT } from '../../testbed/agent.ts';
import { startProxy, type Proxy } from '../../testbed/fault-proxy.ts';
import { buildImage, pushImage } from '../../testbed/image.ts';
import { startLoopbackRegistry, type LoopbackRegistry } from '../../testbed/loopback-registry.ts';
import { must } from '../../testbed/proc.ts';
import { PullBed } from '../../testbed/pull-bed.ts';
import { tempDir } from '../../testbed/tmp.ts';

const MB = 1_000_000;

describe('resume after kill -9', () => {
  const dir = tempDir('ks-kill-');
  let registry: LoopbackRegistry;
  let mirror: Proxy;
  let image: string;
  let blob: { digest: string; size: number };

  beforeAll(async () => {
    registry = await startLoopbackRegistry(dir, 'reg');
    image = `${registry.host}/kairos/big:v1`;
    await pushImage(undefined, await buildImage(`${dir}/img`, 1, 200 * MB), image);
    const manifest = JSON.parse(await must('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${image}`])) as { layers: { digest: string; size: number }[] };
    blob = manifest.layers[0]!;
    mirror = await startProxy(registry.url);
  }, 300_000);
  afterAll(async () => {
    await mirror?.close();
    await registry?.stop();
  });

  it('the second run transfers at most 55% of the blob', async () => {
    expect(blob.size).toBeGreaterThan(199 * MB);
    const b = new PullBed(`${dir}/bed`);
    b.hosts(registry.host, [mirror.url], 'http://127.0.0.1:9'); // upstream unreachable: every byte is counted at the mirror
    b.config('  pull:\n    resolve_tags_via_mirror: true\n');
    const isBlob = (url: string) => url.includes(`/blobs/${blob.digest}`);

    const half = Math.floor(blob.size / 2);
    const child = spawn(AGENT, ['--root', b.root, '--log-level', 'silent', 'prepull', image], { stdio: 'ignore' });
    const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_c, sig) => resolve(sig)));
    mirror.setRule((q) => (isBlob(q.url) ? { kind: 'pause', afterBytes: half, onPause: () => child.kill('SIGKILL') } : undefined));
    expect(await exited).toBe('SIGKILL');
    const partial = path.join(b.store, 'ingest', `${blob.digest.slice(7)}.partial`);
    expect(existsSync(partial)).toBe(true);
    // Lost by the kill: only what the kernel still held in flight (the agent writes what it receives at once).
    expect(statSync(partial).size).toBeGreaterThan(0.4 * blob.size);
    expect(readdirSync(path.join(b.store, 'blobs/sha256'))).not.toContain(blob.digest.slice(7));
    const firstRun = mirror.sentFor(blob.digest);

    mirror.setRule(undefined);
    const r = await b.prepull([image]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    const secondRun = mirror.sentFor(blob.digest) - firstRun;
    expect(secondRun).toBeLessThanOrEqual(0.55 * blob.size);
    expect(secondRun).toBeGreaterThanOrEqual(0.45 * blob.size);
    b.verifyBlobs();
    expect((await b.skopeoInspect(image)).Layers).toEqual([blob.digest]);
  }, 300_000);
});
