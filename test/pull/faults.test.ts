/**
 * prepull against faults, through a recording proxy in front of a real registry for the
 * mirror and another for the upstream: each case ends with a correct store and asserts
 * which source served what.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoopbackRegistry } from '../../testbed/loopback-registry.ts';
import { startProxiedImage, type ProxiedImage } from '../../testbed/proxied-image.ts';
import { spegelNotFound, type Proxy, type ProxiedRequest } from '../../testbed/fault-proxy.ts';
import { freePort } from '../../testbed/ports.ts';
import { must } from '../../testbed/proc.ts';
import { PullBed } from '../../testbed/pull-bed.ts';
import { tempDir } from '../../testbed/tmp.ts';

const MiB = 1024 * 1024;
const STALL_AFTER_S = 2;

describe('prepull under faults', () => {
  const dir = tempDir('ks-faults-');
  let src: ProxiedImage;
  let registry: LoopbackRegistry;
  let mirror: Proxy;
  let upstream: Proxy;
  let image: string;
  let big: { digest: string; size: number };
  let beds = 0;

  const isBlob = (r: ProxiedRequest, digest?: string) => r.method === 'GET' && r.url.includes('/blobs/') && (digest === undefined || r.url.includes(digest));

  function bed(): PullBed {
    const b = new PullBed(`${dir}/bed${++beds}`);
    b.hosts(registry.host, [mirror.url], upstream.url);
    b.config(`  pull:\n    stall_after: ${STALL_AFTER_S}s\n`);
    return b;
  }

  async function expectStoreGood(b: PullBed) {
    b.verifyBlobs();
    const info = await b.skopeoInspect(image);
    expect(info.Layers).toContain(big.digest);
  }

  beforeAll(async () => {
    src = await startProxiedImage(dir, 'kairos/faults:v1', 3, 4 * MiB);
    ({ registry, image, mirror, upstream } = src);
    const manifest = JSON.parse(await must('skopeo', ['inspect', '--raw', '--tls-verify=false', `docker://${image}`])) as { layers: { digest: string; size: number }[] };
    big = manifest.layers.reduce((a, b) => (b.size > a.size ? b : a));
  });
  afterAll(() => src?.stop());

  function reset(rules: { mirror?: Parameters<Proxy['setRule']>[0]; upstream?: Parameters<Proxy['setRule']>[0] } = {}) {
    mirror.requests.length = 0;
    upstream.requests.length = 0;
    mirror.setRule(rules.mirror);
    upstream.setRule(rules.upstream);
  }

  it('takes everything from the mirror when it has it, asking upstream only to resolve the tag', async () => {
    reset();
    const b = bed();
    const r = await b.prepull([image]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    await expectStoreGood(b);
    expect(upstream.requests.map((q) => `${q.method} ${q.url.split('?')[0]}`)).toEqual([`HEAD /v2/kairos/faults/manifests/v1`]);
    expect(r.json!.bytes.from_upstream).toBe(0);
    expect(mirror.requests.filter((q) => isBlob(q)).every((q) => q.url.includes(`ns=${encodeURIComponent(registry.host)}`))).toBe(true);
    expect(r.json!.bytes.from_peers).toBe(mirror.sentFor('/v2/'));
  });

  it("mirror answers 404 with Spegel's JSON body: everything comes from upstream", async () => {
    reset({ mirror: (q) => spegelNotFound(q.url) });
    const b = bed();
    const r = await b.prepull([image]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    await expectStoreGood(b);
    expect(r.json!.bytes.from_peers).toBe(0);
    expect(upstream.sentFor(big.digest)).toBe(big.size);
    expect(mirror.requests.length).toBeGreaterThan(0);
    expect(mirror.requests.every((q) => q.status === 404)).toBe(true);
  });

  it('mirror connection refused: everything comes from upstream, without waiting', async () => {
    reset();
    const b = bed();
    b.hosts(registry.host, [`http://127.0.0.1:${await freePort()}`], upstream.url);
    const started = Date.now();
    const r = await b.prepull([image]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    expect(Date.now() - started).toBeLessThan(10_000);
    await expectStoreGood(b);
    expect(r.json!.bytes.from_peers).toBe(0);
    expect(upstream.sentFor(big.digest)).toBe(big.size);
  });

  it(`mirror stalls mid-blob: the upstream continues from the offset within stall_after + 1 s`, async () => {
    reset({ mirror: (q) => (isBlob(q, big.digest) ? { kind: 'stall', afterBytes: MiB } : undefined) });
    const b = bed();
    const r = await b.prepull([image]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    await expectStoreGood(b);
    const stalled = mirror.requests.find((q) => isBlob(q, big.digest))!;
    const resumed = upstream.requests.find((q) => isBlob(q, big.digest))!;
    expect(resumed.headers['range']).toBe(`bytes=${MiB}-`);
    expect(resumed.at - stalled.stoppedAt!).toBeLessThanOrEqual((STALL_AFTER_S + 1) * 1000);
    expect(upstream.sentFor(big.digest)).toBe(big.size - MiB);
    expect(r.json!.bytes.from_upstream).toBe(big.size - MiB);
  });

  it(`mirror sends its response headers a byte at a time: dropped within stall_after + 1 s of the request, the upstream sends it all`, async () => {
    reset({ mirror: (q) => (isBlob(q, big.digest) ? { kind: 'slowHead' } : undefined) });
    const b = bed();
    const r = await b.prepull([image]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    await expectStoreGood(b);
    const slow = mirror.requests.find((q) => isBlob(q, big.digest))!;
    const fallback = upstream.requests.find((q) => isBlob(q, big.digest))!;
    expect(fallback.headers['range']).toBeUndefined();
    expect(fallback.at - slow.at).toBeLessThanOrEqual((STALL_AFTER_S + 1) * 1000);
    expect(upstream.sentFor(big.digest)).toBe(big.size);
    // The mirror's connection was closed by the agent, not left open.
    expect(slow.endedAt).toBeDefined();
  });

  it('mirror resets mid-blob: resumed from the mirror by Range (its Spegel finds another peer), re-downloading at most 1 MiB', async () => {
    const cut = Math.floor(2.5 * MiB);
    let n = 0;
    reset({ mirror: (q) => (isBlob(q, big.digest) && n++ === 0 ? { kind: 'reset', afterBytes: cut } : undefined) });
    const b = bed();
    const r = await b.prepull([image]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    await expectStoreGood(b);
    const tries = mirror.requests.filter((q) => isBlob(q, big.digest));
    expect(tries).toHaveLength(2);
    const from = Number(/^bytes=(\d+)-$/.exec(String(tries[1]!.headers['range']))?.[1]);
    expect(cut - from).toBeLessThanOrEqual(MiB);
    expect(mirror.sentFor(big.digest)).toBe(cut + big.size - from);
    expect(upstream.requests.filter((q) => isBlob(q, big.digest))).toHaveLength(0);
    expect(r.json!.bytes.from_upstream).toBe(0);
  });

  it('mirror sends corrupted bytes: detected, never committed, fetched again from upstream', async () => {
    reset({ mirror: (q) => (isBlob(q, big.digest) ? { kind: 'corrupt', atByte: 3 * MiB + 17 } : undefined) });
    const b = bed();
    const r = await b.prepull([image]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    await expectStoreGood(b);
    expect(mirror.sentFor(big.digest)).toBe(big.size);
    const refetch = upstream.requests.filter((q) => isBlob(q, big.digest));
    expect(refetch).toHaveLength(1);
    expect(refetch[0]!.headers['range']).toBeUndefined();
    expect(upstream.sentFor(big.digest)).toBe(big.size);
    expect(r.stdout + r.stderr).toMatch(/do not match|hash to/);
  });

  it('mirror corrupts the start of a blob, resets, then loses it: the upstream finishes it, then delivers it whole', async () => {
    let n = 0;
    reset({ mirror: (q) => (isBlob(q, big.digest) ? (n++ === 0 ? { kind: 'reset', afterBytes: 2 * MiB, corruptAt: 1000 } : spegelNotFound(q.url)) : undefined) });
    const b = bed();
    const r = await b.prepull([image]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    await expectStoreGood(b);
    expect(mirror.requests.filter((q) => isBlob(q, big.digest)).map((q) => q.status)).toEqual([200, 404]);
    const fromUpstream = upstream.requests.filter((q) => isBlob(q, big.digest));
    expect(fromUpstream.map((q) => q.headers['range'] ?? 'whole')).toEqual([expect.stringMatching(/^bytes=\d+-$/), 'whole']);
  });

  it('upstream 429 and 503 with Retry-After are honoured', async () => {
    let n = 0;
    reset({
      mirror: (q) => spegelNotFound(q.url),
      upstream: (q) => {
        if (!isBlob(q, big.digest)) return undefined;
        n++;
        return n === 1 ? { kind: 'status', status: 429, headers: { 'retry-after': '1' } } : n === 2 ? { kind: 'status', status: 503, headers: { 'retry-after': '1' } } : undefined;
      },
    });
    const b = bed();
    const r = await b.prepull([image]);
    expect(r.code, r.stdout + r.stderr).toBe(0);
    await expectStoreGood(b);
    const tries = upstream.requests.filter((q) => isBlob(q, big.digest));
    expect(tries.map((q) => q.status)).toEqual([429, 503, 200]);
    expect(tries[1]!.at - tries[0]!.at).toBeGreaterThanOrEqual(950);
    expect(tries[2]!.at - tries[1]!.at).toBeGreaterThanOrEqual(950);
  });

  it("upstream that keeps answering 429: bounded retries, then a clear failure quoting the registry's TOOMANYREQUESTS", async () => {
    const body = JSON.stringify({ errors: [{ code: 'TOOMANYREQUESTS', message: 'You have reached your pull rate limit.' }] });
    reset({
      mirror: (q) => spegelNotFound(q.url),
      upstream: (q) => (isBlob(q, big.digest) ? { kind: 'status', status: 429, body, headers: { 'retry-after': '0', 'content-type': 'application/json' } } : undefined),
    });
    const b = bed();
    const r = await b.prepull([image]);
    expect(r.code).toBe(1);
    expect(upstream.requests.filter((q) => isBlob(q, big.digest)).length).toBe(6);
    expect(r.error!.message).toMatch(new RegExp(`no source could provide blob ${big.digest}.*HTTP 429: TOOMANYREQUESTS: You have reached your pull rate limit\\.`));
  });

  // A GET: a HEAD (the tag's resolution) has no body to carry the registry's words.
  it("upstream refusing the manifest with 403 DENIED: the user reads the registry's own words, E_UNAUTHORIZED", async () => {
    const body = JSON.stringify({ errors: [{ code: 'DENIED', message: 'requested access to the resource is denied' }] });
    reset({
      mirror: (q) => spegelNotFound(q.url),
      upstream: (q) => (q.method === 'GET' && q.url.includes('/manifests/sha256:') ? { kind: 'status', status: 403, body, headers: { 'content-type': 'application/json' } } : undefined),
    });
    const r = await bed().prepull([image]);
    expect(r.code).toBe(1);
    expect(r.error).toMatchObject({ code: 'E_UNAUTHORIZED', message: expect.stringContaining('HTTP 403: DENIED: requested access to the resource is denied') });
  });
});
