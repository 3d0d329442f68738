/**
 * References and manifests against a real registry: a multi-arch OCI index (amd64 and
 * arm64 select different manifests), digest references, and Docker Hub-style names
 * (`ubuntu` is docker.io/library/ubuntu), served by a local registry named as docker.io's
 * server in hosts.toml.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAgent } from '../../testbed/agent.ts';
import { buildBuildxIndex, buildImage, buildMultiArchImage, pushImage } from '../../testbed/image.ts';
import { startLoopbackRegistry, type LoopbackRegistry } from '../../testbed/loopback-registry.ts';
import { startProxy, type Proxy } from '../../testbed/fault-proxy.ts';
import { PullBed } from '../../testbed/pull-bed.ts';
import { tempDir } from '../../testbed/tmp.ts';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';

describe('platforms and names', () => {
  const dir = tempDir('ks-names-');
  let registry: LoopbackRegistry;
  let hub: Proxy;
  let multi: { amd64: string; arm64: string };
  let beds = 0;
  const bed = () => new PullBed(`${dir}/bed${++beds}`);

  beforeAll(async () => {
    registry = await startLoopbackRegistry(dir, 'reg');
    const m = await buildMultiArchImage(`${dir}/multi`);
    multi = m;
    await pushImage(undefined, m.ref, `${registry.host}/kairos/multi:v1`, { all: true });
    await pushImage(undefined, await buildImage(`${dir}/ubuntu`, 1, 10_000), `${registry.host}/library/ubuntu:latest`);
    hub = await startProxy(registry.url);
  });
  afterAll(async () => {
    await hub?.close();
    await registry?.stop();
  });

  it.each([
    ['linux/amd64', 'amd64'],
    ['linux/arm64', 'arm64'],
    ['linux/arm64/v8', 'arm64'],
  ] as const)('--platform %s picks the %s manifest from the index', async (platform, arch) => {
    const b = bed();
    b.hosts(registry.host, []);
    const r = await b.prepull([`${registry.host}/kairos/multi:v1`, '--platform', platform]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.json!.manifest).toBe(multi[arch]);
    expect((await b.skopeoInspect(r.json!.image)).Architecture).toBe(arch);
    const index = JSON.parse(readFileSync(path.join(b.store, 'index.json'), 'utf8')) as { manifests: { digest: string; annotations: Record<string, string> }[] };
    expect(index.manifests[0]!.digest).toBe(multi[arch]);
    expect(index.manifests[0]!.annotations['io.kairos-spegel.index.digest']).toBe(r.json!.digest);
    b.verifyBlobs();
  });

  it("a buildx index: the store keeps every manifest and config, not the other platform's layers or the attestations'; gc keeps them; a store without them gets them back", async () => {
    const buildx = await buildBuildxIndex(`${dir}/buildx`);
    await pushImage(undefined, buildx.ref, `${registry.host}/kairos/buildx:v1`, { all: true });
    const layout = `${dir}/buildx/layout`;
    const read = <T>(d: string) => JSON.parse(readFileSync(path.join(layout, 'blobs/sha256', d.slice(7)), 'utf8')) as T;
    const entries = read<{ manifests: { digest: string; platform: { architecture: string } }[] }>(buildx.index).manifests;
    const metadata = entries.flatMap((m) => [m.digest, read<{ config: { digest: string } }>(m.digest).config.digest]);
    const otherLayers = entries.filter((m) => m.platform.architecture !== 'amd64').flatMap((m) => read<{ layers: { digest: string }[] }>(m.digest).layers.map((l) => l.digest));
    const held = (b: PullBed) => new Set(readdirSync(path.join(b.store, 'blobs/sha256')).map((n) => `sha256:${n}`));

    const b = bed();
    b.hosts(registry.host, []);
    const first = await b.prepull([`${registry.host}/kairos/buildx:v1`, '--platform', 'linux/amd64']);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(first.json!.blobs).toEqual({ present: 0, downloaded: 2 }); // config and layer: metadata blobs are not counted
    for (const d of [buildx.index, ...metadata]) expect(held(b), d).toContain(d);
    for (const d of otherLayers) expect(held(b), d).not.toContain(d);
    b.verifyBlobs();

    const gc = await runAgent(['--root', b.root, '--json', 'gc']);
    expect(gc.code, gc.stdout + gc.stderr).toBe(0);
    for (const d of [buildx.index, ...metadata]) expect(held(b), d).toContain(d);

    // A store written before the index's metadata was kept: the next prepull adds it, downloading no layer.
    const amd64 = entries.find((m) => m.platform.architecture === 'amd64')!.digest;
    const image = [amd64, read<{ config: { digest: string } }>(amd64).config.digest];
    for (const d of metadata.filter((d) => !image.includes(d))) rmSync(path.join(b.store, 'blobs/sha256', d.slice(7)));
    const again = await b.prepull([`${registry.host}/kairos/buildx:v1`, '--platform', 'linux/amd64']);
    expect(again.code, again.stdout + again.stderr).toBe(0);
    expect(again.json!.blobs.downloaded).toBe(0);
    for (const d of metadata) expect(held(b), d).toContain(d);
  });

  it("defaults to the node's own platform", async () => {
    const b = bed();
    b.hosts(registry.host, []);
    const r = await b.prepull([`${registry.host}/kairos/multi:v1`]);
    expect(r.json!.manifest).toBe(process.arch === 'arm64' ? multi.arm64 : multi.amd64);
  });

  it('a platform the index lacks is an error that lists what it has', async () => {
    const b = bed();
    b.hosts(registry.host, []);
    const r = await b.prepull([`${registry.host}/kairos/multi:v1`, '--platform', 'linux/s390x']);
    expect(r.code).toBe(1);
    expect(r.error!.message).toMatch(/has no image for linux\/s390x; it has linux\/amd64, linux\/arm64\/v8/);
  });

  it('pulls by digest without resolving a tag', async () => {
    const b = bed();
    b.hosts(registry.host, [], hub.url);
    hub.requests.length = 0;
    const r = await b.prepull([`${registry.host}/kairos/multi@${multi.arm64}`]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.json!.image).toBe(`${registry.host}/kairos/multi@${multi.arm64}`);
    expect(hub.requests.some((q) => q.method === 'HEAD')).toBe(false);
    expect(await b.skopeoInspect(r.json!.image)).toMatchObject({ Architecture: 'arm64' });
  });

  it.each(['ubuntu', 'docker.io/ubuntu', 'docker.io/library/ubuntu:latest', 'index.docker.io/library/ubuntu'])('"%s" is docker.io/library/ubuntu:latest', async (name) => {
    const b = bed();
    // Docker Hub, played by the local registry: hosts.toml for docker.io names it as the server.
    b.hosts('docker.io', [], hub.url);
    hub.requests.length = 0;
    const r = await b.prepull([name]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(r.json!.image).toBe('docker.io/library/ubuntu:latest');
    expect(hub.requests[0]).toMatchObject({ method: 'HEAD', url: '/v2/library/ubuntu/manifests/latest?ns=docker.io' });
  });

  it('rejects malformed references with the expected form', async () => {
    const r = await bed().prepull(['Quay.io/UPPER/case:v1']);
    expect(r.code).toBe(2);
    expect(r.error!.message).toMatch(/invalid image reference/);
  });
});
